#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydOIDC
import RelydStore

/// Reads the configuration format of `sample.cfg`: one `key = value` per line, `#` starts a comment line,
/// values may be wrapped in double quotes. Every key is declared once in ``keys``, with its parser and bounds;
/// an unknown key, a repeated key or a bad value stops the daemon with the file, line and reason.
public enum ConfigurationFile {
    /// A configuration error, pointing at the offending line.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var reason: String

        public var description: String { "\(file):\(line): \(reason)" }
    }

    /// One configuration key: its name and how it sets the configuration from text.
    struct Key: Sendable {
        var name: String
        var apply: @Sendable (inout Configuration, String) throws(Reason) -> Void
    }

    struct Reason: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    static let keys: [Key] = [
        Key(name: "socket_path") { config, value throws(Reason) in config.socketPath = try path(value) },
        Key(name: "socket_mode") { config, value throws(Reason) in
            guard let mode = UInt32(value, radix: 8), mode <= 0o777, value.hasPrefix("0") else {
                throw Reason("must be an octal mode such as 0660")
            }
            config.socketMode = mode
        },
        Key(name: "socket_group") { config, value throws(Reason) in
            if value.isEmpty {
                config.socketGroup = nil
            } else if let gid = UInt32(value) {
                config.socketGroup = gid
            } else if let gid = Syscall.groupID(named: value) {
                config.socketGroup = gid
            } else {
                throw Reason("names no group: '\(value)' is neither a gid nor a group name this host knows")
            }
        },
        Key(name: "state_dir") { config, value throws(Reason) in config.stateDirectory = try path(value) },
        Key(name: "log_level") { config, value throws(Reason) in
            guard let level = LogLevel(name: value) else {
                throw Reason("must be one of " + LogLevel.allCases.map(\.name).joined(separator: ", "))
            }
            config.logLevel = level
        },
        Key(name: "ca_file") { config, value throws(Reason) in config.caFile = value.isEmpty ? nil : try path(value) },
        Key(name: "allow_http_loopback") { config, value throws(Reason) in config.allowHTTPLoopback = try bool(value) },
        Key(name: "op_connect_timeout_ms") { config, value throws(Reason) in
            config.opConnectTimeoutMilliseconds = try integer(value, 1...600_000)
        },
        Key(name: "op_timeout_ms") { config, value throws(Reason) in
            config.opTimeoutMilliseconds = try integer(value, 1...600_000)
        },
        Key(name: "op_max_response_bytes") { config, value throws(Reason) in
            config.opMaxResponseBytes = try integer(value, 1024...(64 << 20))
        },
        Key(name: "clock_skew_seconds") { config, value throws(Reason) in
            config.clockSkewSeconds = try integer(value, 0...600)
        },
        Key(name: "state_lifetime_seconds") { config, value throws(Reason) in
            config.stateLifetimeSeconds = try integer(value, 10...86_400)
        },
        Key(name: "metadata_cache_seconds") { config, value throws(Reason) in
            config.metadataCacheSeconds = try integer(value, 60...86_400)
        },
        Key(name: "max_line_bytes") { config, value throws(Reason) in
            config.maxLineBytes = try integer(value, 1024...(16 << 20))
        },
        Key(name: "max_connections") { config, value throws(Reason) in
            config.maxConnections = try integer(value, 1...100_000)
        },
        Key(name: "max_connections_per_uid") { config, value throws(Reason) in
            config.maxConnectionsPerUID = try integer(value, 1...100_000)
        },
        Key(name: "idle_timeout_seconds") { config, value throws(Reason) in
            config.idleTimeoutSeconds = try integer(value, 0...86_400)
        },
        Key(name: "requests_per_second") { config, value throws(Reason) in
            config.requestsPerSecond = try integer(value, 0...1_000_000)
        },
        Key(name: "request_burst") { config, value throws(Reason) in
            config.requestBurst = try integer(value, 1...1_000_000)
        },
        Key(name: "shutdown_drain_seconds") { config, value throws(Reason) in
            config.shutdownDrainSeconds = try integer(value, 0...3600)
        },
        Key(name: "event_loops") { config, value throws(Reason) in
            config.eventLoops = try integer(value, 1...64)
        },
        Key(name: "allowed_op_hosts") { config, value throws(Reason) in
            do throws(AllowedOPHosts.InvalidEntry) {
                config.allowedOPHosts = try AllowedOPHosts(value.split(separator: ",").map(String.init))
            } catch {
                throw Reason("entry '\(error.entry)' is neither an issuer URL nor a host[:port]")
            }
        },
        Key(name: "allowed_uids") { config, value throws(Reason) in config.allowedUIDs = try ids(value) },
        Key(name: "allowed_gids") { config, value throws(Reason) in config.allowedGIDs = try ids(value) },
        Key(name: "admin_uids") { config, value throws(Reason) in config.adminUIDs = try ids(value) },
        Key(name: "admin_gids") { config, value throws(Reason) in config.adminGIDs = try ids(value) },
        Key(name: "store") { config, value throws(Reason) in
            guard let backend = Configuration.StoreBackend(rawValue: value) else {
                let names = Configuration.StoreBackend.allCases.map(\.rawValue)
                throw Reason("must be one of " + names.joined(separator: ", "))
            }
            config.store = backend
        },
        Key(name: "postgresql_url") { config, value throws(Reason) in
            // The reason never quotes the value: it may hold a password.
            guard value.isEmpty || PostgreSQLSiteStore.isWellFormedURL(value) else {
                throw Reason("must be a PostgreSQL connection URL such as postgresql://relyd@db.example/relyd")
            }
            config.postgresqlURL = value
        },
    ]

    /// The names of every key, for `sample.cfg`'s test and the docs.
    public static var keyNames: [String] { keys.map(\.name) }

    /// Reads the file at `path` over the defaults.
    public static func load(path: String) throws(Failure) -> Configuration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Failure(file: path, line: 0, reason: "cannot be read as UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// Parses configuration text over the defaults.
    public static func parse(_ text: String, file: String) throws(Failure) -> Configuration {
        var configuration = Configuration()
        /// The line of each key set, for errors that involve several keys.
        var seen: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw Failure(file: file, line: lineNumber, reason: "expected 'key = value'")
            }
            let name = line[..<equals].trimmingWhitespace()
            var value = line[line.index(after: equals)...].trimmingWhitespace()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard let key = keys.first(where: { $0.name == name }) else {
                throw Failure(file: file, line: lineNumber, reason: "unknown key '\(name)'")
            }
            guard seen.updateValue(lineNumber, forKey: name) == nil else {
                throw Failure(file: file, line: lineNumber, reason: "'\(name)' is set twice")
            }
            do {
                try key.apply(&configuration, value)
            } catch {
                throw Failure(file: file, line: lineNumber, reason: "'\(name)' \(error.text)")
            }
        }
        if configuration.store == .postgresql, configuration.postgresqlURL.isEmpty {
            throw Failure(file: file, line: seen["store"] ?? 0, reason: "'store' postgresql needs postgresql_url")
        }
        return configuration
    }

    private static func integer(_ value: String, _ range: ClosedRange<Int>) throws(Reason) -> Int {
        guard let number = Int(value), range.contains(number) else {
            throw Reason("must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    private static func bool(_ value: String) throws(Reason) -> Bool {
        switch value.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw Reason("must be true or false")
        }
    }

    /// A comma-separated list of numeric user or group ids; empty is the empty set.
    private static func ids(_ value: String) throws(Reason) -> Set<UInt32> {
        var result: Set<UInt32> = []
        for entry in value.split(separator: ",", omittingEmptySubsequences: false) {
            let text = entry.trimmingWhitespace()
            if text.isEmpty && value.trimmingWhitespace().isEmpty { continue }
            guard let id = UInt32(text) else { throw Reason("must be comma-separated numeric ids, such as 33,1000") }
            result.insert(id)
        }
        return result
    }

    private static func path(_ value: String) throws(Reason) -> String {
        guard !value.isEmpty, !value.contains("\0") else { throw Reason("must be a non-empty path") }
        return value
    }
}
