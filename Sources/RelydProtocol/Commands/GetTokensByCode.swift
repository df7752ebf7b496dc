/// `get_tokens_by_code`: redeem the authorization code the OP sent back, and validate the ID token.
public enum GetTokensByCode: CommandDescriptor {
    public static let name = "get_tokens_by_code"
    public static let summary =
        "Exchange the code from the redirect for tokens (PKCE, client authentication) and validate the ID token."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        public var code: String
        public var state: String
        /// The `iss` parameter of the authorization response (RFC 9207), when the OP sent one; must be the issuer.
        public var iss: String?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case code, state, iss
        }

        public init(oxdID: String, code: String, state: String, iss: String? = nil) {
            self.oxdID = oxdID
            self.code = code
            self.state = state
            self.iss = iss
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var accessToken: String
        public var tokenType: String
        public var expiresIn: Int?
        public var refreshToken: String?
        public var idToken: String
        public var idTokenClaims: [String: JSONValue]

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case refreshToken = "refresh_token"
            case idToken = "id_token"
            case idTokenClaims = "id_token_claims"
        }

        public init(accessToken: String, tokenType: String, expiresIn: Int?, refreshToken: String?, idToken: String,
                    idTokenClaims: [String: JSONValue]) {
            self.accessToken = accessToken
            self.tokenType = tokenType
            self.expiresIn = expiresIn
            self.refreshToken = refreshToken
            self.idToken = idToken
            self.idTokenClaims = idTokenClaims
        }
    }
}
