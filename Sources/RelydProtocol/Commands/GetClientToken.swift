/// `get_client_token`: an access token for the site itself (client credentials grant, RFC 6749 4.4).
public enum GetClientToken: CommandDescriptor {
    public static let name = "get_client_token"
    public static let summary =
        "Get an access token for the site itself (client credentials), cached in memory until shortly before expiry."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        /// The scopes to request; nil requests the OP's default for the client.
        public var scope: [String]?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case scope
        }

        public init(oxdID: String, scope: [String]? = nil) {
            self.oxdID = oxdID
            self.scope = scope
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var accessToken: String
        public var tokenType: String
        /// Seconds the token has left now (a cached token has less than when it was issued); nil when unknown.
        public var expiresIn: Int?
        /// When the token expires, unix seconds; absent when unknown.
        public var expiresAt: Int64?
        /// The granted scopes.
        public var scope: [String]

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case expiresAt = "expires_at"
            case scope
        }

        public init(accessToken: String, tokenType: String, expiresIn: Int?, expiresAt: Int64? = nil, scope: [String]) {
            self.accessToken = accessToken
            self.tokenType = tokenType
            self.expiresIn = expiresIn
            self.expiresAt = expiresAt
            self.scope = scope
        }
    }
}
