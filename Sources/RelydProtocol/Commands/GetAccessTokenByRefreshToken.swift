/// `get_access_token_by_refresh_token`: new tokens for a refresh token, with any new ID token validated.
public enum GetAccessTokenByRefreshToken: CommandDescriptor {
    public static let name = "get_access_token_by_refresh_token"
    public static let summary =
        "Use a refresh token (single-flight per token); a new ID token must keep the original user's iss and sub."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        public var refreshToken: String
        /// Narrows the original grant for the new access token (RFC 6749 6); nil keeps it.
        public var scope: [String]?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case refreshToken = "refresh_token"
            case scope
        }

        public init(oxdID: String, refreshToken: String, scope: [String]? = nil) {
            self.oxdID = oxdID
            self.refreshToken = refreshToken
            self.scope = scope
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var accessToken: String
        public var tokenType: String
        public var expiresIn: Int?
        /// When the access token expires, unix seconds; absent when the OP gave no `expires_in`.
        public var expiresAt: Int64?
        /// The granted scopes: the OP's `scope`, or the requested ones (or the site's) when it sent none.
        public var scope: [String]
        /// The OP's new refresh token when it rotated it, otherwise the one sent.
        public var refreshToken: String
        /// Present only when the OP issued a new ID token.
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

        public init(accessToken: String, tokenType: String, expiresIn: Int?, expiresAt: Int64? = nil,
                    scope: [String] = [], refreshToken: String, idToken: String?, idTokenClaims: [String: JSONValue]?) {
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
