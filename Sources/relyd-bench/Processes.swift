import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process started with posix_spawn, its output in a log file.
///
/// posix_spawn rather than Foundation's `Process`, whose `waitUntilExit` on Linux also waits for grandchildren.
final class Child {
    let pid: pid_t
    let name: String
    let logPath: String
    private var exited = false

    init(_ executable: String, _ arguments: [String], logPath: String, environment: [String: String] = [:]) throws {
        name = URL(fileURLWithPath: executable).lastPathComponent
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Children must not hold the bench's own sockets (the loopback OP's connections, other daemons' sockets).
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(entry), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        // The spawning thread may be a Dispatch worker, which blocks signals; the child must get SIGTERM, and
        // the default SIGPIPE the bench itself ignores.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw BenchError("cannot start \(executable): errno \(spawned)") }
        self.pid = pid
    }

    var isRunning: Bool {
        guard !exited else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exited = true
            return false
        }
        return true
    }

    /// SIGTERM, then waits for the exit.
    func stop() {
        guard !exited else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        exited = true
    }

    /// Resident set size in bytes, from /proc (VmRSS).
    var residentBytes: Int { statusKilobytes("VmRSS") * 1024 }

    /// The resident memory that is the process's own (RssAnon): VmRSS less the shared libraries' pages.
    var privateResidentBytes: Int { statusKilobytes("RssAnon") * 1024 }

    private func statusKilobytes(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        }
        return 0
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit { stop() }
}

/// Runs a command to completion; returns its standard output, or throws with its standard error.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], input: String? = nil, scratch: String) throws -> String {
    let outputPath = scratch + "/command.out"
    let inputPath = scratch + "/command.in"
    if let input { try input.write(toFile: inputPath, atomically: false, encoding: .utf8) }
    let child = try Child("/bin/sh", ["-c", "exec \"$0\" \"$@\" < \(input == nil ? "/dev/null" : inputPath)",
                                      executable] + arguments,
                          logPath: outputPath + ".\(UUID().uuidString.prefix(6))")
    var status: Int32 = 0
    while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
    let output = child.log
    try? FileManager.default.removeItem(atPath: child.logPath)
    guard status == 0 else { throw BenchError("\(executable) \(arguments.joined(separator: " ")) failed: \(output)") }
    return output
}

/// A fresh directory under /tmp (short: Unix socket paths must stay under 108 bytes), removed on release.
final class ScratchDirectory {
    let path: String

    init(_ label: String) throws {
        path = "/tmp/relyd-bench-\(label)-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Seconds on a monotonic clock.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Waits until `condition` holds, polling every millisecond, or throws after `timeout` seconds.
func waitUntil(timeout: Double, _ what: String, _ condition: () -> Bool) throws {
    let deadline = monotonicSeconds() + timeout
    while !condition() {
        guard monotonicSeconds() < deadline else { throw BenchError("timed out waiting for \(what)") }
        usleep(1000)
    }
}
