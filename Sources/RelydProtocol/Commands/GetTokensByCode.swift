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
        /// When the access token expires, in unix seconds (`expires_in` after the exchange); absent when the OP
        /// gave no `expires_in`.
        public var expiresAt: Int64?
        /// The granted scope from the token response, otherwise the scope the site requests (RFC 6749 5.1 lets
        /// the OP omit it when it granted what was asked; relyd does not keep a per-request `scope` override).
        public var scope: [String]
        public var refreshToken: String?
        /// The validated ID token and its claims; absent for a plain OAuth 2.0 site, which gets no ID token.
        public var idToken: String?
        public var idTokenClaims: [String: JSONValue]?

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case expiresAt = "expires_at"
            case scope
            case refreshToken = "refresh_token"
            case idToken = "id_token"
            case idTokenClaims = "id_token_claims"
        }

        public init(accessToken: String, tokenType: String, expiresIn: Int?, expiresAt: Int64?, scope: [String],
                    refreshToken: String?, idToken: String?, idTokenClaims: [String: JSONValue]?) {
            self.accessToken = accessToken
            self.tokenType = tokenType
            self.expiresIn = expiresIn
            self.expiresAt = expiresAt
            self.scope = scope
            self.refreshToken = refreshToken
            self.idToken = idToken
            self.idTokenClaims = idTokenClaims
        }
    }
}
