import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts a child process with posix_spawn, its standard streams on files, for the integration tests and the bench.
///
/// posix_spawn and waitpid rather than Foundation's `Process`: the OP scripts leave a server running in the
/// background, and `Process.waitUntilExit` on Linux waits for such grandchildren too. Output goes through files so
/// that nothing waits on a pipe such a server keeps open.
public enum ChildProcess {
    /// Where the child's standard output and error go. A nil `errorPath` sends errors to the output file.
    public struct Output: Sendable {
        public var outputPath: String
        public var errorPath: String?
        public var append: Bool

        public init(outputPath: String, errorPath: String? = nil, append: Bool = false) {
            self.outputPath = outputPath
            self.errorPath = errorPath
            self.append = append
        }
    }

    /// Starts `executable` (looked up on PATH) and returns its pid, or the errno posix_spawn failed with.
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                             output: Output) -> Result<pid_t, SpawnFailure> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let mode = O_WRONLY | O_CREAT | (output.append ? O_APPEND : O_TRUNC)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.outputPath, mode, 0o600)
        if let errorPath = output.errorPath {
            posix_spawn_file_actions_addopen(&actions, 2, errorPath, mode, 0o600)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // The child must not inherit this process's other descriptors (test servers' pipes and sockets, the runner's
        // output): a server it leaves behind would hold them open and their readers would never see end-of-file.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        // The spawning thread may be a Dispatch worker, which blocks signals; the child must get SIGTERM, and the
        // default SIGPIPE its parent may ignore.
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
        return spawned == 0 ? .success(pid) : .failure(SpawnFailure(executable: executable, errno: spawned))
    }

    /// Waits for `pid` to end: its exit status, or -1 when a signal ended it.
    public static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) != 0 ? -1 : (status >> 8) & 0xff
    }

    public struct SpawnFailure: Error, CustomStringConvertible {
        public var executable: String
        public var errno: Int32
        public var description: String { "cannot start \(executable): errno \(errno)" }
    }
}
