import Foundation
import RelydProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The systemd deployment: the shipped units verify, and the real relyd runs socket-activated under systemd's own
/// launcher, notifying READY, WATCHDOG and STOPPING on a notification socket.
@Suite struct SystemdDeploymentTests {
    static let analyze = "/usr/bin/systemd-analyze"
    static let activate = "/usr/bin/systemd-socket-activate"
    static let shippedExecStart = "/usr/local/bin/relyd --config /etc/relyd/relyd.cfg"

    /// `systemd-analyze verify` accepts deploy/relyd.service and deploy/relyd.socket without a complaint.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is not installed"))
    func units_passSystemdAnalyzeVerify() throws {
        let directory = try TemporaryDirectory()
        let deploy = Checkout.root.appendingPathComponent("deploy")
        let service = try String(contentsOf: deploy.appendingPathComponent("relyd.service"), encoding: .utf8)
        #expect(service.contains("ExecStart=\(Self.shippedExecStart)"))
        // verify checks that ExecStart's binary exists: point it at the one just built.
        let relyd = try Checkout.product("relyd").path
        try service.replacingOccurrences(of: "/usr/local/bin/relyd", with: relyd)
            .write(to: directory.url.appendingPathComponent("relyd.service"), atomically: false, encoding: .utf8)
        try FileManager.default.copyItem(at: deploy.appendingPathComponent("relyd.socket"),
                                         to: directory.url.appendingPathComponent("relyd.socket"))

        let output = directory.url.appendingPathComponent("verify.out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.analyze)
        process.arguments = ["verify", directory.url.appendingPathComponent("relyd.service").path,
                             directory.url.appendingPathComponent("relyd.socket").path]
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let complaints = try String(contentsOf: output, encoding: .utf8)
        #expect(process.terminationStatus == 0, "\(complaints)")
        #expect(complaints.isEmpty, "\(complaints)")
    }

    /// Under systemd-socket-activate relyd serves the passed socket (not its configured path), sends READY=1 with
    /// its MAINPID, keeps the watchdog fed, and on SIGTERM sends STOPPING=1 and exits 0.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: activate), "systemd-socket-activate is not installed"))
    func socketActivation_servesThePassedSocket_andNotifiesSystemd() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.url.appendingPathComponent("relyd.sock").path
        let fallbackPath = directory.url.appendingPathComponent("fallback.sock").path
        let configPath = directory.url.appendingPathComponent("relyd.cfg").path
        let logPath = directory.url.appendingPathComponent("relyd.log").path
        try """
            socket_path = \(fallbackPath)
            state_dir = \(directory.url.appendingPathComponent("state").path)
            log_level = debug
            """.write(toFile: configPath, atomically: false, encoding: .utf8)
        let receiver = try DatagramReceiver(path: directory.url.appendingPathComponent("notify.sock").path)

        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.activate)
        process.arguments = ["-l", socketPath, "-E", "NOTIFY_SOCKET=\(receiver.path)", "-E", "WATCHDOG_USEC=400000",
                             "--fdname=relyd", try Checkout.product("relyd").path, "--config", configPath]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        var logText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        // The launcher listens first and starts relyd (in its own process, by exec) at the first connection.
        let deadline = Date().addingTimeInterval(30)
        while !RelydDaemon.canConnect(socketPath) {
            guard Date() < deadline, process.isRunning else {
                throw IntegrationError("systemd-socket-activate never listened: \(logText)")
            }
            usleep(20_000)
        }
        let connection = try DaemonRobustnessTests.LineConnection(path: socketPath)
        connection.write(Array(#"{"command":"health"}"#.utf8) + [0x0a])
        let health = try connection.readLine()
        #expect(health["status"] == .string("ok"), "\(logText)")

        let ready = try #require(receiver.receive(), "no READY=1: \(logText)")
        let fields = Set(ready.split(separator: "\n").map(String.init))
        #expect(fields.contains("READY=1"))
        #expect(fields.contains("MAINPID=\(process.processIdentifier)"))
        #expect(fields.contains { $0.hasPrefix("STATUS=") })
        #expect(receiver.receive() == "WATCHDOG=1")
        #expect(!FileManager.default.fileExists(atPath: fallbackPath), "relyd bound its own socket")

        kill(process.processIdentifier, SIGTERM)
        var stopping: String?
        while let message = receiver.receive() {
            if message.hasPrefix("STOPPING=1") { stopping = message; break }
            #expect(message == "WATCHDOG=1")
        }
        #expect(stopping != nil, "no STOPPING=1: \(logText)")
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0, "\(logText)")
        #expect(logText.contains("socket.activated=true"), "\(logText)")
        #expect(logText.contains("keep-alives from the event loop watchdog.interval_ms=200"), "\(logText)")
    }

    /// Runs relyd through `sh -c 'LISTEN_PID=… LISTEN_FDS=1 exec relyd …'` with `fd3` on descriptor 3, so that
    /// LISTEN_PID is relyd's own pid when `ownPid`; returns the process, started.
    static func launchWithActivationVariables(
        directory: URL, ownPid: Bool, fd3: String, log: String
    ) throws -> (Process, socketPath: String) {
        let socketPath = directory.appendingPathComponent("relyd.sock").path
        let configPath = directory.appendingPathComponent("relyd.cfg").path
        try """
            socket_path = \(socketPath)
            state_dir = \(directory.appendingPathComponent("state").path)
            """.write(toFile: configPath, atomically: false, encoding: .utf8)
        let pid = ownPid ? "$$" : "1"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "LISTEN_PID=\(pid) LISTEN_FDS=1 LISTEN_FDNAMES=relyd exec \"$0\" --config \"$1\" 3<\(fd3)",
                             try Checkout.product("relyd").path, configPath]
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return (process, socketPath)
    }

    /// Activation variables meant for another pid are ignored: relyd binds its configured path and serves.
    @Test func activationVariablesForAnotherPid_fallBackToTheConfiguredPath() throws {
        let directory = try TemporaryDirectory()
        let log = directory.url.appendingPathComponent("relyd.log").path
        let (process, socketPath) = try Self.launchWithActivationVariables(
            directory: directory.url, ownPid: false, fd3: "/dev/null", log: log)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(30)
        while !RelydDaemon.canConnect(socketPath) {
            guard Date() < deadline, process.isRunning else { throw IntegrationError("relyd did not listen: \(logText)") }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(logText)")
        #expect(logText.contains("socket.activated=false"), "\(logText)")
    }

    /// Activation that passes something other than a listening socket as fd 3 is refused: relyd exits 1.
    @Test func activationWithANonSocketOnDescriptorThree_refusesToStart() throws {
        let directory = try TemporaryDirectory()
        let log = directory.url.appendingPathComponent("relyd.log").path
        let (process, socketPath) = try Self.launchWithActivationVariables(
            directory: directory.url, ownPid: true, fd3: "/dev/null", log: log)
        process.waitUntilExit()
        let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 1, "\(logText)")
        #expect(logText.contains("cannot start"), "\(logText)")
        #expect(!FileManager.default.fileExists(atPath: socketPath))
    }
}

/// A datagram socket bound to a path, standing in for systemd's notification socket.
final class DatagramReceiver {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard fd >= 0, bound == 0 else { throw IntegrationError("cannot bind \(path): errno \(errno)") }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next datagram as text, or nil after the receive timeout.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
