import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The relyd binary measured: the one built next to relyd-bench, or `RELYD_BENCH_RELYD` (to compare a build of
/// another commit with the same bench); `RELYD_BENCH_CONFIG` adds lines to the bench's relyd.cfg (to compare
/// settings, such as `event_loops = 2`; only keys the bench does not set itself, since relyd refuses a key set twice).
enum Products {
    static let folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().path

    static var relyd: String { ProcessInfo.processInfo.environment["RELYD_BENCH_RELYD"] ?? folder + "/relyd" }
    static var extraConfiguration: String { ProcessInfo.processInfo.environment["RELYD_BENCH_CONFIG"] ?? "" }
}

/// The real relyd binary on a socket and state directory inside `directory`.
final class RelydProcess {
    let directory: String
    let socketPath: String
    let stateDirectory: String
    private let configPath: String
    private(set) var child: Child?
    /// Seconds from spawn until the first `health` answer, for the last start.
    private(set) var startupSeconds = 0.0

    init(in directory: String) throws {
        self.directory = directory
        socketPath = directory + "/relyd.sock"
        stateDirectory = directory + "/state"
        configPath = directory + "/relyd.cfg"
        try """
            socket_path = \(socketPath)
            state_dir = \(stateDirectory)
            log_level = warning
            allow_http_loopback = true
            max_connections = 2000
            max_connections_per_uid = 2000
            \(Products.extraConfiguration)

            """.write(toFile: configPath, atomically: false, encoding: .utf8)
        try start()
    }

    var databasePath: String { stateDirectory + "/relyd.sqlite3" }

    /// Starts the daemon and waits until it answers `health` (its readiness as a client sees it).
    func start() throws {
        let started = monotonicSeconds()
        let child = try Child(Products.relyd, ["--config", configPath], logPath: directory + "/relyd.log")
        self.child = child
        try waitUntil(timeout: 120, "relyd to answer health") {
            guard child.isRunning else { return true }
            return (try? RelydConnection(socketPath: socketPath).call("health")) != nil
        }
        guard child.isRunning else { throw BenchError("relyd exited at start: \(child.log)") }
        startupSeconds = monotonicSeconds() - started
    }

    func stop() {
        child?.stop()
        child = nil
    }

    var memory: ResidentMemory { child?.memory ?? ResidentMemory() }

    var cpuSeconds: Double { child?.cpuSeconds ?? 0 }

    var pid: pid_t? { child?.pid }

    func connect() throws -> RelydConnection { try RelydConnection(socketPath: socketPath) }
}

/// redis-server on a Unix socket only (no TCP port, no persistence): the transport reference.
final class RedisProcess {
    let socketPath: String
    private let child: Child

    init(in directory: String) throws {
        socketPath = directory + "/redis.sock"
        child = try Child("redis-server", ["--port", "0", "--unixsocket", socketPath, "--save", "",
                                           "--appendonly", "no", "--dir", directory],
                          logPath: directory + "/redis.log")
        try waitUntil(timeout: 20, "redis-server to listen") {
            guard let fd = connectUnixSocket(socketPath) else { return !child.isRunning }
            close(fd)
            return true
        }
        guard child.isRunning else { throw BenchError("redis-server exited: \(child.log)") }
    }

    func stop() { child.stop() }

    var cpuSeconds: Double { child.cpuSeconds }
}
