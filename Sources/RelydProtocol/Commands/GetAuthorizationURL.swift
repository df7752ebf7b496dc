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
        public var loginHint: String?
        /// Sent space-separated, in order of preference.
        public var uiLocales: [String]?
        /// The OpenID Connect `claims` request parameter (Core 5.5), sent as compact JSON.
        public var claims: [String: JSONValue]?
        /// `query` (the default) or `form_post`: then the OP POSTs code, state and iss to the redirect URI.
        public var responseMode: String?
        /// Extra query parameters. Parameters relyd controls or that have their own parameter cannot be set here.
        public var customParameters: [String: String]?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case scope
            case acrValues = "acr_values"
            case prompt
            case maxAge = "max_age"
            case loginHint = "login_hint"
            case uiLocales = "ui_locales"
            case claims
            case responseMode = "response_mode"
            case customParameters = "custom_parameters"
        }

        public init(oxdID: String, scope: [String]? = nil, acrValues: [String]? = nil, prompt: String? = nil,
                    maxAge: Int? = nil, loginHint: String? = nil, uiLocales: [String]? = nil,
                    claims: [String: JSONValue]? = nil, responseMode: String? = nil,
                    customParameters: [String: String]? = nil) {
            self.oxdID = oxdID
            self.scope = scope
            self.acrValues = acrValues
            self.prompt = prompt
            self.maxAge = maxAge
            self.loginHint = loginHint
            self.uiLocales = uiLocales
            self.claims = claims
            self.responseMode = responseMode
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
