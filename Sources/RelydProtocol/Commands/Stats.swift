/// `stats`: the daemon's operating counters since it started.
public enum Stats: CommandDescriptor {
    public static let name = "stats"
    public static let summary = "Report uptime, requests and errors per command, connections, store size, OP call latencies and cache hit rates."
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

    /// Calls to one OP host: how many, how many failed (no HTTP response, or a 5xx), and their latencies.
    public struct OPCalls: Codable, Sendable, Equatable {
        public var count: Int
        public var errors: Int
        /// The upper bound of the latency bucket holding the median (for the last bucket: the slowest call).
        public var p50Milliseconds: Int
        public var p99Milliseconds: Int
        /// Calls per latency bucket, fastest first; not cumulative.
        public var buckets: [LatencyBucket]

        enum CodingKeys: String, CodingKey {
            case count, errors, buckets
            case p50Milliseconds = "p50_ms"
            case p99Milliseconds = "p99_ms"
        }

        public init(count: Int, errors: Int, p50Milliseconds: Int, p99Milliseconds: Int, buckets: [LatencyBucket]) {
            self.count = count
            self.errors = errors
            self.p50Milliseconds = p50Milliseconds
            self.p99Milliseconds = p99Milliseconds
            self.buckets = buckets
        }
    }

    /// Calls that took at most `upperBoundMilliseconds` (and more than the previous bucket's bound); nil: slower
    /// than every bound.
    public struct LatencyBucket: Codable, Sendable, Equatable {
        public var upperBoundMilliseconds: Int?
        public var count: Int

        enum CodingKeys: String, CodingKey {
            case count
            case upperBoundMilliseconds = "le_ms"
        }

        public init(upperBoundMilliseconds: Int?, count: Int) {
            self.upperBoundMilliseconds = upperBoundMilliseconds
            self.count = count
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(upperBoundMilliseconds, forKey: .upperBoundMilliseconds)  // null, not absent
            try container.encode(count, forKey: .count)
        }
    }

    /// One cache's lookups: answered without calling the OP (`hits`) or not (`misses`).
    public struct CacheCounts: Codable, Sendable, Equatable {
        public var hits: Int
        public var misses: Int

        public init(hits: Int, misses: Int) {
            self.hits = hits
            self.misses = misses
        }

        /// hits / (hits + misses); 0 before any lookup.
        public var hitRate: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }

        enum CodingKeys: String, CodingKey {
            case hits, misses
            case hitRate = "hit_rate"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            hits = try container.decode(Int.self, forKey: .hits)
            misses = try container.decode(Int.self, forKey: .misses)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(hits, forKey: .hits)
            try container.encode(misses, forKey: .misses)
            try container.encode((hitRate * 1000).rounded() / 1000, forKey: .hitRate)
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
        /// By OP host (`host` or `host:port`); a host not yet called is absent.
        public var opCalls: [String: OPCalls]
        /// By cache: `provider_metadata` (discovery documents), `provider_jwks`, `client_tokens`.
        public var caches: [String: CacheCounts]

        enum CodingKeys: String, CodingKey {
            case commands, connections, caches
            case uptimeSeconds = "uptime_seconds"
            case storeBytes = "store_bytes"
            case opCalls = "op_calls"
        }

        public init(uptimeSeconds: Int, commands: [String: CommandCounts], connections: Connections?,
                    storeBytes: Int?, opCalls: [String: OPCalls] = [:], caches: [String: CacheCounts] = [:]) {
            self.uptimeSeconds = uptimeSeconds
            self.commands = commands
            self.connections = connections
            self.storeBytes = storeBytes
            self.opCalls = opCalls
            self.caches = caches
        }

        /// Lenient about the figures added later (`op_calls`, `caches`), so a newer client reads an older daemon.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            uptimeSeconds = try container.decode(Int.self, forKey: .uptimeSeconds)
            commands = try container.decode([String: CommandCounts].self, forKey: .commands)
            connections = try container.decodeIfPresent(Connections.self, forKey: .connections)
            storeBytes = try container.decodeIfPresent(Int.self, forKey: .storeBytes)
            opCalls = try container.decodeIfPresent([String: OPCalls].self, forKey: .opCalls) ?? [:]
            caches = try container.decodeIfPresent([String: CacheCounts].self, forKey: .caches) ?? [:]
        }
    }
}
