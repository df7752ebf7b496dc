import CLinux
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Which cores threads may run on (`sched_setaffinity(2)`), for a measurement that gives the load generator and the
/// servers cores of their own: where the scheduler places a server's thread relative to the client (the same core:
/// a local wake-up; another core: an interrupt to a core that may have gone idle) changes its latency more than some
/// of the differences measured.
enum CoreAffinity {
    /// The cores the calling thread may run on, in increasing order.
    static func allowedCores() -> [Int] {
        var set = cpu_set_t()
        guard sched_getaffinity(0, MemoryLayout<cpu_set_t>.size, &set) == 0 else { return [] }
        return withUnsafeBytes(of: set) { bytes in
            (0..<bytes.count * 8).filter { core in bytes[core / 8] & (1 << UInt8(core % 8)) != 0 }
        }
    }

    /// Pins the calling thread to `cores`.
    static func pinCallingThread(to cores: [Int]) throws {
        try pin(thread: 0, to: cores)
    }

    /// Pins every thread `pid` has now; threads it starts later inherit the cores of the thread that starts them.
    static func pin(process pid: pid_t, to cores: [Int]) throws {
        let threads = threads(of: pid)
        guard !threads.isEmpty else { throw BenchError("no threads listed for process \(pid)") }
        for thread in threads { try pin(thread: thread, to: cores) }
    }

    /// The core the calling thread runs on.
    static func currentCore() -> Int { Int(sched_getcpu()) }

    /// The core the thread `thread` of process `pid` last ran on (proc(5), field 39), nil when it is gone.
    static func lastCore(process pid: pid_t, thread: pid_t) -> Int? {
        // Field 39 is the 37th after the command name.
        guard let fields = procStatFields("/proc/\(pid)/task/\(thread)/stat"), fields.count > 36 else { return nil }
        return Int(fields[36])
    }

    /// The id of the thread of `pid` named `name` (its `comm`), nil when there is none.
    static func thread(named name: String, process pid: pid_t) -> pid_t? {
        threads(of: pid).sorted().first { thread in
            let comm = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/comm", encoding: .utf8)
            return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }
    }

    /// The ids of the threads `pid` has now; none when it is gone.
    private static func threads(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return entries.compactMap { pid_t($0) }
    }

    private static func pin(thread: pid_t, to cores: [Int]) throws {
        var set = cpu_set_t()
        withUnsafeMutableBytes(of: &set) { bytes in
            for core in cores where core / 8 < bytes.count { bytes[core / 8] |= 1 << UInt8(core % 8) }
        }
        guard sched_setaffinity(thread, MemoryLayout<cpu_set_t>.size, &set) == 0 else {
            throw BenchError("sched_setaffinity(\(thread), \(cores)) failed: errno \(errno)")
        }
    }
}
