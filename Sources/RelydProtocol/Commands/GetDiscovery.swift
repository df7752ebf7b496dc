/// `get_discovery`: the OP's discovery document, as relyd has it cached.
public enum GetDiscovery: CommandDescriptor {
    public static let name = "get_discovery"
    public static let summary = "Return an OP's discovery document (by op_host, or by the oxd_id of one of its sites)."

    public struct Parameters: CommandParameters, Equatable {
        /// Exactly one of `op_host` and `oxd_id`.
        public var opHost: String?
        public var oxdID: String?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case opHost = "op_host"
            case oxdID = "oxd_id"
        }

        public init(opHost: String? = nil, oxdID: String? = nil) {
            self.opHost = opHost
            self.oxdID = oxdID
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var discovery: [String: JSONValue]

        public init(discovery: [String: JSONValue]) {
            self.discovery = discovery
        }
    }
}
