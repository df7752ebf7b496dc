/// `revoke_token`: ask the OP to revoke an access or refresh token (RFC 7009).
public enum RevokeToken: CommandDescriptor {
    public static let name = "revoke_token"
    public static let summary = "Revoke an access or refresh token at the OP's revocation endpoint (RFC 7009)."

    public typealias Parameters = TokenParameters

    public struct Result: Codable, Sendable, Equatable {
        /// Always true: the OP answered HTTP 200, which RFC 7009 also sends for a token it does not know.
        public var revoked: Bool

        public init(revoked: Bool) {
            self.revoked = revoked
        }
    }
}
