import Foundation
import RelydTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Paths of the checkout and the built products, found from this file and the test binary.
enum Checkout {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared")
    /// The folder holding the test binary also holds the built executables.
    static let products = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent()

    static func product(_ name: String) throws -> URL {
        for folder in [products, products.deletingLastPathComponent()] {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw IntegrationError("\(name) is not built next to the tests in \(products.path); run `swift build` first")
    }
}

struct IntegrationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init() throws {
        // Short paths: a Unix socket path must stay under 108 bytes.
        url = URL(fileURLWithPath: "/tmp").appendingPathComponent("relyd-it-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The real `relyd` binary, started on a temporary socket and state directory.
final class RelydDaemon: @unchecked Sendable {
    let directory: URL
    let socketPath: String
    let configPath: String
    let logPath: String
    /// Variables set for the daemon on top of the test process's environment (e.g. `LD_PRELOAD`).
    let environment: [String: String]
    private(set) var process: Process?

    /// Writes a configuration (`extraConfig` lines appended) and starts the daemon, waiting until it accepts.
    init(in directory: URL, extraConfig: String = "", environment: [String: String] = [:]) throws {
        self.directory = directory
        self.environment = environment
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        socketPath = directory.appendingPathComponent("relyd.sock").path
        configPath = directory.appendingPathComponent("relyd.cfg").path
        logPath = directory.appendingPathComponent("relyd.log").path
        let config = """
            socket_path = \(socketPath)
            state_dir = \(directory.appendingPathComponent("state").path)
            log_level = debug
            \(extraConfig)
            """
        try config.write(toFile: configPath, atomically: false, encoding: .utf8)
        try start()
    }

    func start() throws {
        let process = Process()
        process.executableURL = try Checkout.product("relyd")
        process.arguments = ["--config", configPath]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        self.process = process
        try waitUntilAccepting()
    }

    var pid: Int32 { process?.processIdentifier ?? 0 }

    /// Polls the socket until a connection succeeds (readiness), or fails after 30 s.
    func waitUntilAccepting() throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if Self.canConnect(socketPath) { return }
            if let process, !process.isRunning {
                throw IntegrationError("relyd exited with \(process.terminationStatus): \(log)")
            }
            usleep(20_000)
        }
        throw IntegrationError("relyd did not accept connections within 30 s: \(log)")
    }

    /// Sends SIGKILL: no chance to flush or clean up.
    func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Sends SIGTERM and returns the exit status.
    @discardableResult
    func terminate() -> Int32 {
        guard let process else { return -1 }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Number of open file descriptors of the daemon.
    var openDescriptorCount: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func canConnect(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}

/// Runs a command to completion and returns its standard output (see ``ChildProcess`` for why not `Process`).
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("relyd-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outputPath = scratch.appendingPathComponent("stdout").path
    let errorPath = scratch.appendingPathComponent("stderr").path
    let pid = try ChildProcess.spawn(executable, arguments, environment: environment,
                                     output: .init(outputPath: outputPath, errorPath: errorPath)).get()
    let exitStatus = ChildProcess.waitForExit(pid)
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    guard exitStatus == 0 else {
        let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        throw CommandFailure(command: executable, exitStatus: exitStatus, standardError: errors)
    }
    return output
}

/// A command that exited non-zero (or was killed: `exitStatus` -1).
struct CommandFailure: Error, CustomStringConvertible {
    var command: String
    var exitStatus: Int32
    var standardError: String

    var description: String { "\(command) failed (exit \(exitStatus)): \(standardError)" }
}
