import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real relyd binary checks each connection's peer (SO_PEERCRED) against `allowed_uids` and `admin_uids`.
@Suite struct PeerAccessTests {
    typealias LineConnection = DaemonRobustnessTests.LineConnection

    static let health = Array(#"{"id":1,"command":"health"}"#.utf8) + [0x0a]

    /// The test process's own uid in allowed_uids is served.
    @Test func ownUidAllowed_isServed() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "allowed_uids = \(getuid())")
        let connection = try LineConnection(path: daemon.socketPath)
        #expect(try connection.errorCode(after: Self.health) == nil)
        #expect(daemon.terminate() == 0)
    }

    /// A config allowing only another uid answers access_denied and logs the peer's uid and pid.
    @Test func onlyAnotherUidAllowed_isAccessDenied() throws {
        let directory = try TemporaryDirectory()
        let other = getuid() == 0 ? 1 : getuid() - 1
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "allowed_uids = \(other)")
        let connection = try LineConnection(path: daemon.socketPath)
        #expect(try connection.errorCode(after: Self.health) == "access_denied")
        #expect(try connection.errorCode(after: Self.health) == "access_denied")
        #expect(daemon.terminate() == 0)
        #expect(daemon.log.contains("peer.uid=\(getuid())"))
        #expect(daemon.log.contains("peer.pid=\(getpid())"))
    }

    /// With admin_uids naming another uid, register_site is access_denied while health is served.
    @Test func adminUidsOfAnotherUser_denyRegisterSiteOnly() throws {
        let directory = try TemporaryDirectory()
        let other = getuid() == 0 ? 1 : getuid() - 1
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "admin_uids = \(other)")
        let connection = try LineConnection(path: daemon.socketPath)
        let register = Array(#"{"command":"register_site","params":{"op_host":"https://op.invalid","authorization_redirect_uri":"https://rp.example/cb"}}"#.utf8) + [0x0a]
        #expect(try connection.errorCode(after: register) == "access_denied")
        #expect(try connection.errorCode(after: Self.health) == nil)
        #expect(daemon.terminate() == 0)
    }
}
