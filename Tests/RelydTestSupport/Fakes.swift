import Foundation
import RelydBasics

/// A clock that moves only when a test says so.
public final class FakeClock: WallClock, @unchecked Sendable {
    // Invariant: `current` is read and written only under `lock`.
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        current = start
    }

    public func now() -> Date { lock.withLock { current } }

    public func advance(by seconds: TimeInterval) {
        lock.withLock { current = current.addingTimeInterval(seconds) }
    }
}

/// Randomness that differs on every call but is the same in every run, so tests are repeatable.
public final class SequentialRandom: RandomSource, @unchecked Sendable {
    // Invariant: `counter` is read and written only under `lock`.
    private let lock = NSLock()
    private var counter: UInt8 = 0

    public init() {}

    public func bytes(_ count: Int) throws -> [UInt8] {
        lock.withLock {
            counter &+= 1
            return (0..<count).map { UInt8(truncatingIfNeeded: Int(counter) &* 31 &+ $0) }
        }
    }
}

/// Collects log events so that a test can assert what was logged, and what never was.
public final class CollectingLogSink: LogSink, @unchecked Sendable {
    // Invariant: `collected` is read and written only under `lock`.
    private let lock = NSLock()
    private var collected: [LogEvent] = []

    public init() {}

    public func write(_ event: LogEvent) { lock.withLock { collected.append(event) } }

    public var events: [LogEvent] { lock.withLock { collected } }

    /// Every event as the daemon would print it.
    public var text: String { events.map(StderrLogSink.format).joined() }
}
