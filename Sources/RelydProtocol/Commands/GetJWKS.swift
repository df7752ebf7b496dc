/// `get_jwks`: the public keys a site signs its client assertions with.
public enum GetJWKS: CommandDescriptor {
    public static let name = "get_jwks"
    public static let summary =
        "The site's public JWK Set (private_key_jwt), to serve at a jwks_uri; empty for sites without a key."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
        }

        public init(oxdID: String) {
            self.oxdID = oxdID
        }
    }

    /// A JWK Set document (RFC 7517 §5): public members only.
    public struct Result: Codable, Sendable, Equatable {
        public var keys: [[String: JSONValue]]

        public init(keys: [[String: JSONValue]]) {
            self.keys = keys
        }
    }
}
