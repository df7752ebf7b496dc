/// `introspect_access_token`: the OP's view of a token (RFC 7662).
public enum IntrospectAccessToken: CommandDescriptor {
    public static let name = "introspect_access_token"
    public static let summary =
        "Ask the OP's introspection endpoint (RFC 7662) about a token; returns its answer with every member."

    public typealias Parameters = TokenParameters

    /// The introspection response as the OP sent it (`active` plus whatever members it adds): the result object
    /// is that response itself.
    public struct Result: Codable, Sendable, Equatable {
        public var members: [String: JSONValue]

        /// RFC 7662 2.2: whether the token is currently active.
        public var active: Bool { members["active"] == .bool(true) }

        public init(members: [String: JSONValue]) {
            self.members = members
        }

        public init(from decoder: any Decoder) throws {
            members = try decoder.singleValueContainer().decode([String: JSONValue].self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(members)
        }
    }
}
