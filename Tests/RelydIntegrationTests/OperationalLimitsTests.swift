import Foundation
import RelydClient
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real relyd binary's connection limits, socket ownership and SIGTERM drain, over its socket.
@Suite struct OperationalLimitsTests {
    typealias LineConnection = DaemonRobustnessTests.LineConnection

    static let health = Array(#"{"id":1,"command":"health"}"#.utf8) + [0x0a]

    /// The daemon serves on the number of event loops `event_loops` names (one by default), as its start line
    /// reports, and answers on each of them.
    @Test(arguments: [nil, 3] as [Int?])
    func eventLoops_comeFromTheConfiguration(loops: Int?) throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url, extraConfig: loops.map { "event_loops = \($0)" } ?? "")
        let connections = try (0..<4).map { _ in try LineConnection(path: daemon.socketPath) }
        for connection in connections { #expect(try connection.errorCode(after: Self.health) == nil) }
        #expect(daemon.terminate() == 0)
        #expect(daemon.log.contains("socket.event_loops=\(loops ?? 1)"))
    }

    /// Over the request rate a connection gets rate_limited, over the per-uid cap a new one gets
    /// too_many_connections, a silent one gets idle_timeout; a second client is served throughout.
    @Test func limits_answerWithTheirCodes_andOtherClientsAreServed() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url, extraConfig: """
            max_connections_per_uid = 2
            requests_per_second = 1
            request_burst = 1
            idle_timeout_seconds = 2
            """)
        let eager = try LineConnection(path: daemon.socketPath)
        eager.write(Self.health + Self.health)
        let answers = try (0..<2).map { _ in try eager.readLine() }
        #expect(answers[0]["status"] == .string("ok"))
        #expect(answers[1]["data"]?["error"]?.stringValue == "rate_limited")
        #expect(answers[1]["id"] == .null)

        let calm = try LineConnection(path: daemon.socketPath)
        #expect(try calm.errorCode(after: Self.health) == nil)
        let third = try LineConnection(path: daemon.socketPath)
        #expect(try third.readLine()["data"]?["error"]?.stringValue == "too_many_connections")

        // Silent since its last answer, the first connection is closed as idle with its code.
        #expect(try eager.readLine()["data"]?["error"]?.stringValue == "idle_timeout")
        #expect(daemon.terminate() == 0)
        #expect(daemon.log.contains("connection refused: too many connections"))
    }

    /// The Swift client turned away by the per-uid cap fails with too_many_connections, not a bare disconnect.
    @Test func swiftClientOverTheCap_getsTooManyConnections() async throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "max_connections_per_uid = 1")
        // The daemon's readiness probe counts until the loop has seen it close: retry until the holder is served.
        var holder = try LineConnection(path: daemon.socketPath)
        try ReloadTests.waitFor {
            if (try? holder.errorCode(after: Self.health)) == .some(nil) { return true }
            holder = (try? LineConnection(path: daemon.socketPath)) ?? holder
            return false
        }
        let client = RelydClient(socketPath: daemon.socketPath)
        defer { client.close() }
        do {
            _ = try await client.health()
            Issue.record("a connection over the cap was served")
        } catch {
            #expect(error.code == "too_many_connections")
        }
        #expect(daemon.terminate() == 0)
    }

    /// After the daemon closed its idle connection, the Swift client's next request goes out on a new one.
    @Test func swiftClientAfterAnIdleClose_reconnects() async throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "idle_timeout_seconds = 1")
        let client = RelydClient(socketPath: daemon.socketPath)
        defer { client.close() }
        _ = try await client.health()
        try ReloadTests.waitFor { daemon.log.contains("reason=idle") }
        #expect(try await client.health().status == "ok")
        #expect(daemon.terminate() == 0)
    }

    /// SIGHUP lowers the per-uid cap and the idle timeout of the running daemon; nothing needs a restart.
    @Test func sighup_appliesNewLimits() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url)
        let first = try LineConnection(path: daemon.socketPath)
        #expect(try first.errorCode(after: Self.health) == nil)
        let original = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        try (original + "\nmax_connections_per_uid = 1\nidle_timeout_seconds = 1\nop_timeout_ms = 2000\n")
            .write(toFile: daemon.configPath, atomically: false, encoding: .utf8)
        kill(daemon.pid, SIGHUP)
        try ReloadTests.waitFor { daemon.log.contains("configuration reloaded") }
        let second = try LineConnection(path: daemon.socketPath)
        #expect(try second.readLine()["data"]?["error"]?.stringValue == "too_many_connections")
        #expect(try first.readLine()["data"]?["error"]?.stringValue == "idle_timeout")
        #expect(daemon.terminate() == 0)
        #expect(!daemon.log.contains("needs a restart"))
    }

    /// socket_mode and socket_group (one of our own groups) are given to the socket relyd binds.
    @Test func boundSocket_getsTheConfiguredModeAndGroup() throws {
        var groups = [gid_t](repeating: 0, count: 256)
        let count = getgroups(Int32(groups.count), &groups)
        let group = count > 0 ? groups[Int(count) - 1] : getegid()
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "socket_mode = 0600\nsocket_group = \(group)")
        var status = stat()
        #expect(stat(daemon.socketPath, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(status.st_gid == group)
        #expect(daemon.terminate() == 0)
    }

    /// A socket directory anyone may write to (no sticky bit) stops the start with exit status 78 and a reason.
    @Test func worldWritableSocketDirectory_refusesToStart() throws {
        let directory = try TemporaryDirectory()
        let open = directory.url.appendingPathComponent("open").path
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        chmod(open, 0o777)
        let config = directory.url.appendingPathComponent("relyd.cfg").path
        try """
            socket_path = \(open)/relyd.sock
            state_dir = \(directory.url.appendingPathComponent("state").path)
            """.write(toFile: config, atomically: false, encoding: .utf8)
        do {
            try run(Checkout.product("relyd").path, ["--config", config])
            Issue.record("relyd started in a world-writable directory")
        } catch let failure as CommandFailure {
            #expect(failure.exitStatus == 78)
            #expect(failure.standardError.contains("world-writable"), "\(failure.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: open + "/relyd.sock"))
    }

    /// A daemon with `extraConfig` whose only connection has a get_discovery in flight, waiting on an OP that
    /// has accepted the daemon's connection and never answers.
    struct RequestInFlight {
        let silentOP: SilentTCPListener
        let directory: TemporaryDirectory
        let daemon: RelydDaemon
        let connection: LineConnection

        init(extraConfig: String) throws {
            silentOP = try SilentTCPListener()
            directory = try TemporaryDirectory()
            daemon = try RelydDaemon(in: directory.url, extraConfig: "allow_http_loopback = true\n" + extraConfig)
            connection = try LineConnection(path: daemon.socketPath)
            connection.write(Array(#"{"id":"slow","command":"get_discovery","params":{"op_host":"http://127.0.0.1:\#(silentOP.port)"}}"#.utf8) + [0x0a])
            try ReloadTests.waitFor { [silentOP] in silentOP.acceptOne() }
        }
    }

    /// SIGTERM while a request waits on a silent OP: relyd stops accepting, the request finishes within the drain
    /// (with op_unreachable at op_timeout_ms), its answer reaches the client, and relyd exits 0.
    @Test func sigterm_letsTheRequestInFlightFinish() throws {
        let stack = try RequestInFlight(extraConfig: "op_timeout_ms = 1500\nshutdown_drain_seconds = 30")
        kill(stack.daemon.pid, SIGTERM)
        try ReloadTests.waitFor { !RelydDaemon.canConnect(stack.daemon.socketPath) }
        let answer = try stack.connection.readLine()
        #expect(answer["id"] == .string("slow"))
        #expect(answer["data"]?["error"]?.stringValue == "op_unreachable")
        #expect(stack.daemon.terminate() == 0)
        #expect(stack.daemon.log.contains("stopped"))
    }

    /// SIGTERM while a request waits on an OP slower than the drain: relyd gives up on it when the drain ends,
    /// closes the connection and still exits 0, long before the OP call would have timed out.
    @Test func sigterm_boundsTheDrain() throws {
        let stack = try RequestInFlight(extraConfig: "op_timeout_ms = 120000\nshutdown_drain_seconds = 1")
        let signalled = Date()
        #expect(stack.daemon.terminate() == 0)
        #expect(Date().timeIntervalSince(signalled) < 60, "the drain did not bound the request")
        #expect(throws: IntegrationError.self) { try stack.connection.readLine() }
    }
}

/// A TCP listener on 127.0.0.1 that accepts connections and never answers: an OP that hangs.
final class SilentTCPListener {
    let fd: Int32
    let port: UInt16
    private var accepted: [Int32] = []

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, bound else { throw IntegrationError("cannot listen on 127.0.0.1: errno \(errno)") }
        port = UInt16(bigEndian: address.sin_port)
    }

    /// Accepts a waiting connection, if any, and keeps it open without a word; returns whether there was one.
    func acceptOne() -> Bool {
        let client = accept(fd, nil, nil)
        guard client >= 0 else { return false }
        accepted.append(client)
        return true
    }

    deinit {
        accepted.forEach { close($0) }
        close(fd)
    }
}
