import RelydBasics

/// Requests and errors per command since start, counted by the dispatcher for the `stats` command.
///
/// Only known command names are counted, so a client cannot grow the table with made-up names.
public final class CommandStatistics: Sendable {
    /// One command's counters.
    public struct Counts: Sendable, Equatable {
        public var requests = 0
        public var errors = 0

        public init(requests: Int = 0, errors: Int = 0) {
            self.requests = requests
            self.errors = errors
        }
    }

    private let counts = Locked<[String: Counts]>([:])

    public init() {}

    /// Counts one request of `command`, failed or not.
    public func record(_ command: String, failed: Bool) {
        counts.withLock { table in
            table[command, default: Counts()].requests += 1
            if failed { table[command, default: Counts()].errors += 1 }
        }
    }

    /// The counters of every command that has been asked for at least once.
    public var snapshot: [String: Counts] { counts.withLock { $0 } }
}
