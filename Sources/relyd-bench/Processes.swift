import Foundation
import RelydTestSupport

#if canImport(Glibc)
import Glibc
#endif

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process (started by ``ChildProcess``), its output and errors in one log file.
final class Child {
    let pid: pid_t
    let name: String
    let logPath: String
    private var exited = false

    init(_ executable: String, _ arguments: [String], logPath: String, environment: [String: String] = [:]) throws {
        name = URL(fileURLWithPath: executable).lastPathComponent
        self.logPath = logPath
        do {
            pid = try ChildProcess.spawn(executable, arguments, environment: environment,
                                         output: .init(outputPath: logPath, append: true)).get()
        } catch {
            throw BenchError("\(error)")
        }
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

    /// The resident set and its parts, from one read of /proc/PID/status (so that they add up).
    var memory: ResidentMemory {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func bytes(_ field: String) -> Int {
            for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
                return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
            }
            return 0
        }
        return ResidentMemory(resident: bytes("VmRSS"), anonymous: bytes("RssAnon"), file: bytes("RssFile"))
    }

    /// CPU time (user + system, all threads) the process has used so far, from /proc/PID/stat; clock ticks are
    /// 10 ms, so it is meant for differences over seconds of work.
    var cpuSeconds: Double {
        // Fields 14 and 15 of proc(5) (utime, stime) are the 12th and 13th after the name.
        guard let fields = procStatFields("/proc/\(pid)/stat"), fields.count > 12, let user = Double(fields[11]),
              let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit { stop() }
}

/// The fields of a /proc `stat` file (proc(5)) after the command name, which is in parentheses and may hold
/// spaces: field 3 of proc(5) is the first. Nil when the file cannot be read (the process or thread is gone).
func procStatFields(_ path: String) -> [Substring]? {
    guard let stat = try? String(contentsOfFile: path, encoding: .utf8), let close = stat.lastIndex(of: ")") else {
        return nil
    }
    return stat[stat.index(after: close)...].split(separator: " ")
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

/// Resident memory in bytes: `resident` (VmRSS) is `anonymous` (RssAnon: heap, stacks, written data, the process's
/// own) plus `file` (RssFile: pages of the executable and shared libraries mapped from their files, which every
/// process mapping the same file shares) plus shared memory (none for relyd).
struct ResidentMemory {
    var resident = 0
    var anonymous = 0
    var file = 0
}
