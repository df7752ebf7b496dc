/// `revoke_token`: ask the OP to revoke an access or refresh token (RFC 7009).
public enum RevokeToken: CommandDescriptor {
    public static let name = "revoke_token"
    public static let summary = "Revoke an access or refresh token at the OP's revocation endpoint (RFC 7009)."

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

    public struct Result: Codable, Sendable, Equatable {
        /// Always true: the OP answered HTTP 200, which RFC 7009 also sends for a token it does not know.
        public var revoked: Bool

        public init(revoked: Bool) {
            self.revoked = revoked
        }
    }
}
