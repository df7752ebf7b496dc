/// `get_user_info`: the claims the OP's userinfo endpoint returns for an access token.
public enum GetUserInfo: CommandDescriptor {
    public static let name = "get_user_info"
    public static let summary =
        "Call the OP's userinfo endpoint with an access token; the sub must match the ID token's."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        public var accessToken: String

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case accessToken = "access_token"
        }

        public init(oxdID: String, accessToken: String) {
            self.oxdID = oxdID
            self.accessToken = accessToken
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var claims: [String: JSONValue]

        public init(claims: [String: JSONValue]) {
            self.claims = claims
        }
    }
}
