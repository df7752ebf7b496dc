/// `stats`: the daemon's operating counters since it started.
public enum Stats: CommandDescriptor {
    public static let name = "stats"
    public static let summary = "Report uptime, requests and errors per command, connections and store size."
    public typealias Parameters = NoParameters

    /// One command's counters.
    public struct CommandCounts: Codable, Sendable, Equatable {
        public var requests: Int
        public var errors: Int

        public init(requests: Int, errors: Int) {
            self.requests = requests
            self.errors = errors
        }
    }

    /// The socket's connections.
    public struct Connections: Codable, Sendable, Equatable {
        /// Open now, this client's included.
        public var open: Int
        /// Accepted since start.
        public var total: Int

        public init(open: Int, total: Int) {
            self.open = open
            self.total = total
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var uptimeSeconds: Int
        /// By command name; a command not yet asked for is absent.
        public var commands: [String: CommandCounts]
        /// Absent when the daemon runs without a socket server (tests).
        public var connections: Connections?
        /// The store's files on disk (database and write-ahead log); absent when unknown.
        public var storeBytes: Int?

        enum CodingKeys: String, CodingKey {
            case commands, connections
            case uptimeSeconds = "uptime_seconds"
            case storeBytes = "store_bytes"
        }

        public init(uptimeSeconds: Int, commands: [String: CommandCounts], connections: Connections?,
                    storeBytes: Int?) {
            self.uptimeSeconds = uptimeSeconds
            self.commands = commands
            self.connections = connections
            self.storeBytes = storeBytes
        }
    }
}
