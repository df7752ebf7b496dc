import Foundation
import RelydBasics

/// A clock that moves only when a test says so.
public final class FakeClock: WallClock {
    private let current: Locked<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        current = Locked(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// Randomness that differs on every call but is the same in every run, so tests are repeatable.
public final class SequentialRandom: RandomSource {
    private let counter = Locked<UInt8>(0)

    public init() {}

    public func bytes(_ count: Int) throws -> [UInt8] {
        let seed = counter.withLock { value -> UInt8 in
            value &+= 1
            return value
        }
        return (0..<count).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0) }
    }
}

/// Collects log events so that a test can assert what was logged, and what never was.
public final class CollectingLogSink: LogSink {
    private let collected = Locked<[LogEvent]>([])

    public init() {}

    public func write(_ event: LogEvent) { collected.withLock { $0.append(event) } }

    public var events: [LogEvent] { collected.withLock { $0 } }

    /// Every event as the daemon would print it.
    public var text: String { events.map(StderrLogSink.format).joined() }
}
