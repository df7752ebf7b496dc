import RelydBasics
import Synchronization

/// Requests and errors per command since start, counted by the dispatcher for the `stats` command.
///
/// Only the command table's names are counted, so a client cannot grow the table with made-up names. The table is
/// fixed at start and its counters are atomics: counting takes no lock on the path of every request.
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

    private final class Counters: Sendable {
        let requests = Atomic<Int>(0)
        let errors = Atomic<Int>(0)
    }

    /// One per entry of `CommandTable.handlers`, in its order.
    private let counters: [Counters]

    public init() {
        counters = CommandTable.handlers.map { _ in Counters() }
    }

    /// Counts one request of the command at `index` in `CommandTable.handlers`, failed or not. The dispatcher
    /// passes the index it found with the handler, so counting costs no second lookup by name, and a name that is
    /// not in the table never reaches the counters.
    func record(commandAt index: Int, failed: Bool) {
        let counter = counters[index]
        counter.requests.wrappingAdd(1, ordering: .relaxed)
        if failed { counter.errors.wrappingAdd(1, ordering: .releasing) }
    }

    /// The counters of every command that has been asked for at least once. Errors are read first, so that a
    /// request counted meanwhile can never show more errors than requests.
    public var snapshot: [String: Counts] {
        var counts: [String: Counts] = [:]
        for (index, handler) in CommandTable.handlers.enumerated() {
            let counter = counters[index]
            let errors = counter.errors.load(ordering: .acquiring)
            let requests = counter.requests.load(ordering: .relaxed)
            if requests > 0 { counts[handler.commandName] = Counts(requests: requests, errors: errors) }
        }
        return counts
    }
}
