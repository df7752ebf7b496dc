/// `introspect_access_token`: the OP's view of a token (RFC 7662).
public enum IntrospectAccessToken: CommandDescriptor {
    public static let name = "introspect_access_token"
    public static let summary =
        "Ask the OP's introspection endpoint (RFC 7662) about a token; returns its answer with every member."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        public var token: String
        /// `access_token` or `refresh_token`: helps the OP find the token.
        public var tokenTypeHint: String?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case token
            case tokenTypeHint = "token_type_hint"
        }

        public init(oxdID: String, token: String, tokenTypeHint: String? = nil) {
            self.oxdID = oxdID
            self.token = token
            self.tokenTypeHint = tokenTypeHint
        }
    }

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
