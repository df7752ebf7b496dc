/// The parameters of a command about one token of a site: `introspect_access_token` and `revoke_token`.
public struct TokenParameters: CommandParameters, Equatable {
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
