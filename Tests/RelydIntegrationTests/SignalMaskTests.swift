import Foundation
import RelydTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// relyd's termination and reload signals reach its dispatch sources whenever they are sent, including during
/// start-up: every thread of the daemon blocks them, so the kernel keeps them pending for the sources' signalfd
/// instead of discarding them while their disposition is "ignore" (seen as a daemon that never exited).
///
/// The daemon is spawned with an empty signal mask, as systemd starts it: `RelydDaemon` uses Foundation's
/// `Process`, whose child inherits the spawning test thread's mask, which happens to block these signals already.
@Suite struct SignalMaskTests {
    @Test func everyThreadBlocksTermIntAndHup() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.url.appendingPathComponent("relyd.sock").path
        let configPath = directory.url.appendingPathComponent("relyd.cfg").path
        try "socket_path = \(socketPath)\nstate_dir = \(directory.url.appendingPathComponent("state").path)\n"
            .write(toFile: configPath, atomically: false, encoding: .utf8)
        let pid = try ChildProcess.spawn(Checkout.product("relyd").path, ["--config", configPath],
                                         output: .init(outputPath: directory.url.appendingPathComponent("log").path))
            .get()
        var exited = false
        defer {
            if !exited {
                kill(pid, SIGKILL)
                _ = ChildProcess.waitForExit(pid)
            }
        }
        let deadline = Date().addingTimeInterval(30)
        while !RelydDaemon.canConnect(socketPath), Date() < deadline { usleep(20_000) }
        try #require(RelydDaemon.canConnect(socketPath))

        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        #expect(tasks.count > 1)
        for task in tasks {
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            let line = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") } ?? ""
            let blocked = UInt64(line.split(separator: "\t").last ?? "", radix: 16) ?? 0
            for signal in [SIGHUP, SIGINT, SIGTERM] {
                #expect(blocked & (1 << UInt64(signal - 1)) != 0, "thread \(task) does not block signal \(signal)")
            }
        }
        kill(pid, SIGTERM)
        exited = true
        #expect(ChildProcess.waitForExit(pid) == 0)
    }
}
