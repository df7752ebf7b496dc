/// `register_site`: make relyd a client of an OpenID Provider.
public enum RegisterSite: CommandDescriptor {
    public static let name = "register_site"
    public static let summary =
        "Discover an OP and register a client with it (or adopt a pre-registered one, or a plain OAuth 2.0 "
        + "provider's endpoints); returns the site's oxd_id."

    public struct Parameters: CommandParameters, Equatable {
        /// The issuer URL; discovery's `issuer` must equal it exactly. For a plain OAuth 2.0 provider it is only the
        /// provider's identifier (never fetched), but must still be an https (or allowed loopback http) URL.
        public var opHost: String
        public var authorizationRedirectURI: String
        public var postLogoutRedirectURI: String?
        /// Default `["openid", "profile", "email"]`; `openid` is added when missing. For a plain OAuth 2.0 provider
        /// exactly these scopes, default none (the provider's default).
        public var scope: [String]?
        public var clientName: String?
        public var grantTypes: [String]?
        public var responseTypes: [String]?
        /// `client_secret_basic` (default), `client_secret_post`, `client_secret_jwt` or `private_key_jwt`.
        public var tokenEndpointAuthMethod: String?
        /// With `private_key_jwt`: the algorithm of the key pair relyd generates, `RS256` (default) or `ES256`.
        public var signingAlg: String?
        /// The ID-token signing algorithm to require; otherwise any the OP advertises (never `none`). `none` itself
        /// is the explicit opt-in to unsigned ID tokens from the token endpoint.
        public var idTokenSignedResponseAlg: String?
        /// A client registered beforehand; skips dynamic registration. Needs `client_secret` too, except with
        /// `private_key_jwt`.
        public var clientID: String?
        public var clientSecret: String?
        /// A plain OAuth 2.0 provider (no discovery, no ID tokens): its authorization and token endpoints, given
        /// together, with a pre-registered `client_id` and `client_secret`.
        public var authorizationEndpoint: String?
        public var tokenEndpoint: String?
        /// The plain OAuth 2.0 provider's user API for `get_user_info` (for example `https://api.github.com/user`).
        public var userinfoEndpoint: String?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case opHost = "op_host"
            case authorizationRedirectURI = "authorization_redirect_uri"
            case postLogoutRedirectURI = "post_logout_redirect_uri"
            case scope
            case clientName = "client_name"
            case grantTypes = "grant_types"
            case responseTypes = "response_types"
            case tokenEndpointAuthMethod = "token_endpoint_auth_method"
            case idTokenSignedResponseAlg = "id_token_signed_response_alg"
            case clientID = "client_id"
            case clientSecret = "client_secret"
            case authorizationEndpoint = "authorization_endpoint"
            case tokenEndpoint = "token_endpoint"
            case userinfoEndpoint = "userinfo_endpoint"
            case signingAlg = "signing_alg"
        }

        public init(opHost: String, authorizationRedirectURI: String, postLogoutRedirectURI: String? = nil,
                    scope: [String]? = nil, clientName: String? = nil, grantTypes: [String]? = nil,
                    responseTypes: [String]? = nil, tokenEndpointAuthMethod: String? = nil,
                    idTokenSignedResponseAlg: String? = nil, clientID: String? = nil, clientSecret: String? = nil,
                    authorizationEndpoint: String? = nil, tokenEndpoint: String? = nil,
                    userinfoEndpoint: String? = nil, signingAlg: String? = nil) {
            self.opHost = opHost
            self.authorizationRedirectURI = authorizationRedirectURI
            self.postLogoutRedirectURI = postLogoutRedirectURI
            self.scope = scope
            self.clientName = clientName
            self.grantTypes = grantTypes
            self.responseTypes = responseTypes
            self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
            self.idTokenSignedResponseAlg = idTokenSignedResponseAlg
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.authorizationEndpoint = authorizationEndpoint
            self.tokenEndpoint = tokenEndpoint
            self.userinfoEndpoint = userinfoEndpoint
            self.signingAlg = signingAlg
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var oxdID: String
        public var clientID: String
        public var opHost: String

        enum CodingKeys: String, CodingKey {
            case oxdID = "oxd_id"
            case clientID = "client_id"
            case opHost = "op_host"
        }

        public init(oxdID: String, clientID: String, opHost: String) {
            self.oxdID = oxdID
            self.clientID = clientID
            self.opHost = opHost
        }
    }
}
