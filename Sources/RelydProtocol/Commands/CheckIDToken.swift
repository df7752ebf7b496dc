/// `check_id_token`: validate an ID token the app holds, as the code flow does.
public enum CheckIDToken: CommandDescriptor {
    public static let name = "check_id_token"
    public static let summary =
        "Validate an ID token for the site (signature, iss, aud, azp, exp, iat; nonce and at_hash when given)."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        public var idToken: String
        /// When given, the token's `nonce` must equal it.
        public var nonce: String?
        /// When given and the token has `at_hash`, the hash must match this access token.
        public var accessToken: String?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case idToken = "id_token"
            case nonce
            case accessToken = "access_token"
        }

        public init(oxdID: String, idToken: String, nonce: String? = nil, accessToken: String? = nil) {
            self.oxdID = oxdID
            self.idToken = idToken
            self.nonce = nonce
            self.accessToken = accessToken
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// Always true: an invalid token is an `id_token_invalid` error, never `valid: false`.
        public var valid: Bool
        public var claims: [String: JSONValue]

        public init(valid: Bool, claims: [String: JSONValue]) {
            self.valid = valid
            self.claims = claims
        }
    }
}
