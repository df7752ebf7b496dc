import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP makes the real daemon re-read its configuration.
@Suite struct ReloadTests {
    typealias LineConnection = DaemonRobustnessTests.LineConnection

    static let health = Array(#"{"id":1,"command":"health"}"#.utf8) + [0x0a]

    /// New access lists apply after SIGHUP; a changed restart-only key is logged as such; a bad file changes nothing.
    @Test func sighup_reloadsAccessLists_andReportsRestartOnlyKeys() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "allowed_uids = \(getuid())")
        let header = """
            socket_path = \(daemon.socketPath)
            state_dir = \(directory.url.appendingPathComponent("state").path)
            log_level = debug
            """
        let connection = try LineConnection(path: daemon.socketPath)
        #expect(try connection.errorCode(after: Self.health) == nil)

        try "\(header)\nnot a pair\n".write(toFile: daemon.configPath, atomically: false, encoding: .utf8)
        kill(daemon.pid, SIGHUP)
        try Self.waitFor { daemon.log.contains("configuration not reloaded") }
        #expect(try connection.errorCode(after: Self.health) == nil)

        let other = getuid() == 0 ? 1 : getuid() - 1
        try "\(header)\nallowed_uids = \(other)\nmax_line_bytes = 4096\n"
            .write(toFile: daemon.configPath, atomically: false, encoding: .utf8)
        kill(daemon.pid, SIGHUP)
        try Self.waitFor { daemon.log.contains("configuration reloaded") }
        #expect(try connection.errorCode(after: Self.health) == "access_denied")
        #expect(daemon.log.contains("config.key=max_line_bytes"))
        #expect(!daemon.log.contains("config.key=allowed_uids"))
        #expect(daemon.terminate() == 0)
    }

    /// Polls `condition` for up to 20 s.
    static func waitFor(_ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(20)
        while !condition() {
            guard Date() < deadline else { throw IntegrationError("condition not reached within 20 s") }
            usleep(20_000)
        }
    }
}
