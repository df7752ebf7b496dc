import RelydBasics
import Synchronization

/// A sink that drops events below a level it can change at run time, so SIGHUP can apply a new `log_level` to the
/// loggers already copied into every part (``Logger`` is a value with a fixed level; give it `.debug`).
public final class LevelFilteringLogSink: LogSink, Sendable {
    private let sink: any LogSink
    /// The level's raw value, atomic rather than locked: every request asks whether debug lines are written.
    private let level: Atomic<Int>

    public init(wrapping sink: any LogSink, minimumLevel: LogLevel) {
        self.sink = sink
        level = Atomic(minimumLevel.rawValue)
    }

    /// The level from which events pass.
    public var minimumLevel: LogLevel {
        LogLevel(rawValue: level.load(ordering: .relaxed)) ?? .debug
    }

    public func setMinimumLevel(_ newLevel: LogLevel) {
        level.store(newLevel.rawValue, ordering: .relaxed)
    }

    public func accepts(_ level: LogLevel) -> Bool { level >= minimumLevel }

    public func write(_ event: LogEvent) {
        guard accepts(event.level) else { return }
        sink.write(event)
    }
}
