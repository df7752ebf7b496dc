#if canImport(Glibc)
import Glibc
#endif

/// Severity, ordered as syslog orders them so that journald keeps the level (`<3>` … `<7>`).
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case error = 3, warning = 4, notice = 5, info = 6, debug = 7

    public var name: String {
        switch self {
        case .error: "error"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }

    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = level
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue > rhs.rawValue }
}

/// One log event: a constant message plus structured fields.
///
/// Messages are constant phrases and the data goes in `fields` under dotted keys (`site.id`, `op.issuer`),
/// so that logs can be searched and so that no value is ever formatted into prose by accident.
public struct LogEvent: Sendable, Equatable {
    public var level: LogLevel
    public var message: String
    public var fields: [(String, String)]

    public init(level: LogLevel, message: String, fields: [(String, String)]) {
        self.level = level
        self.message = message
        self.fields = fields
    }

    public static func == (lhs: LogEvent, rhs: LogEvent) -> Bool {
        lhs.level == rhs.level && lhs.message == rhs.message
            && lhs.fields.map { "\($0.0)=\($0.1)" } == rhs.fields.map { "\($0.0)=\($0.1)" }
    }
}

/// Where log events go. The daemon writes to stderr for journald; tests collect events in memory.
public protocol LogSink: Sendable {
    func write(_ event: LogEvent)
    /// Whether an event of `level` would be written; false lets callers skip building it. Defaults to true.
    func accepts(_ level: LogLevel) -> Bool
}

extension LogSink {
    public func accepts(_ level: LogLevel) -> Bool { true }
}

/// A small value-type logger, injected everywhere and never global.
///
/// Field values are `String`s: a ``Secret`` interpolated into one prints `<redacted>`, so the call site decides
/// what is sensitive by its type, not by a name-based filter in the sink.
public struct Logger: Sendable {
    public let sink: any LogSink
    public let minimumLevel: LogLevel
    public var fields: [(String, String)]

    public init(sink: any LogSink, minimumLevel: LogLevel = .info, fields: [(String, String)] = []) {
        self.sink = sink
        self.minimumLevel = minimumLevel
        self.fields = fields
    }

    /// A logger that drops everything.
    public static let discarding = Logger(sink: DiscardingLogSink(), minimumLevel: .error)

    /// A copy of this logger that adds `fields` to every event.
    public func with(_ fields: (String, String)...) -> Logger {
        var copy = self
        copy.fields += fields
        return copy
    }

    /// Whether an event of `level` reaches the sink. The daemon's logger passes everything to a sink that filters
    /// by the reloadable `log_level`, so only the sink can tell: check this before computing costly field values.
    public func isEnabled(_ level: LogLevel) -> Bool { level >= minimumLevel && sink.accepts(level) }

    public func log(_ level: LogLevel, _ message: String, _ fields: [(String, String)] = []) {
        guard isEnabled(level) else { return }
        sink.write(LogEvent(level: level, message: message, fields: self.fields + fields))
    }

    public func error(_ message: String, _ fields: (String, String)...) { log(.error, message, fields) }
    public func warning(_ message: String, _ fields: (String, String)...) { log(.warning, message, fields) }
    public func notice(_ message: String, _ fields: (String, String)...) { log(.notice, message, fields) }
    public func info(_ message: String, _ fields: (String, String)...) { log(.info, message, fields) }
    public func debug(_ message: String, _ fields: (String, String)...) { log(.debug, message, fields) }
}

struct DiscardingLogSink: LogSink {
    func write(_ event: LogEvent) {}
}

/// Writes one event per line to stderr: `<6>message key=value key="quoted value"`.
///
/// The `<N>` prefix is the syslog priority that journald reads to keep levels.
public struct StderrLogSink: LogSink {
    public init() {}

    public func write(_ event: LogEvent) {
        StandardError.write(Self.format(event))
    }

    /// The line written for `event`, newline included. Values with spaces, quotes or control characters are quoted
    /// and escaped so that one event is always exactly one line.
    public static func format(_ event: LogEvent) -> String {
        var line = "<\(event.level.rawValue)>\(event.message)"
        for (key, value) in event.fields {
            line += " \(key)=\(quoted(value))"
        }
        return line + "\n"
    }

    private static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 || $0.value == 0x7f }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + [UInt8(scalar.value)].lowercaseHex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// The process's stderr, written with write(2) directly: FileHandle is not in FoundationEssentials, the only
/// Foundation the daemon links (see Locked for why).
public enum StandardError {
    /// Writes all of `text`, retrying after signals and short writes; a line shorter than PIPE_BUF goes out in one
    /// write, so lines from several threads do not interleave. Gives up silently if stderr is gone.
    public static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            guard let start = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, start + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
