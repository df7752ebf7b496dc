/// `get_authorization_url`: where to send the user's browser to log in.
public enum GetAuthorizationURL: CommandDescriptor {
    public static let name = "get_authorization_url"
    public static let summary =
        "Build an authorization request with fresh state, nonce and PKCE; returns the URL and its state."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        /// Overrides the site's scopes for this request; `openid` is added when missing.
        public var scope: [String]?
        public var acrValues: [String]?
        public var prompt: String?
        /// When set, the ID token's `auth_time` is required and checked against it.
        public var maxAge: Int?
        /// Extra query parameters (`login_hint`, `ui_locales`, …). Parameters relyd controls cannot be set here.
        public var customParameters: [String: String]?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case scope
            case acrValues = "acr_values"
            case prompt
            case maxAge = "max_age"
            case customParameters = "custom_parameters"
        }

        public init(oxdID: String, scope: [String]? = nil, acrValues: [String]? = nil, prompt: String? = nil,
                    maxAge: Int? = nil, customParameters: [String: String]? = nil) {
            self.oxdID = oxdID
            self.scope = scope
            self.acrValues = acrValues
            self.prompt = prompt
            self.maxAge = maxAge
            self.customParameters = customParameters
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var authorizationURL: String
        public var state: String

        enum CodingKeys: String, CodingKey {
            case authorizationURL = "authorization_url"
            case state
        }

        public init(authorizationURL: String, state: String) {
            self.authorizationURL = authorizationURL
            self.state = state
        }
    }
}
