import RelydBasics

/// A sink that drops events below a level it can change at run time, so SIGHUP can apply a new `log_level` to the
/// loggers already copied into every part (``Logger`` is a value with a fixed level; give it `.debug`).
public final class LevelFilteringLogSink: LogSink, Sendable {
    private let sink: any LogSink
    private let level: Locked<LogLevel>

    public init(wrapping sink: any LogSink, minimumLevel: LogLevel) {
        self.sink = sink
        level = Locked(minimumLevel)
    }

    /// The level from which events pass.
    public var minimumLevel: LogLevel {
        get { level.withLock { $0 } }
    }

    public func setMinimumLevel(_ newLevel: LogLevel) {
        level.withLock { $0 = newLevel }
    }

    public func accepts(_ level: LogLevel) -> Bool { level >= minimumLevel }

    public func write(_ event: LogEvent) {
        guard accepts(event.level) else { return }
        sink.write(event)
    }
}
