/// `update_site`: change a site's redirect URIs, scopes, name, grant and response types, ID token algorithm.
public enum UpdateSite: CommandDescriptor {
    public static let name = "update_site"
    public static let summary =
        "Change a site's redirect URIs, scopes or names; a dynamically registered client is updated at the OP (RFC 7592)."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        public var authorizationRedirectURI: String?
        public var postLogoutRedirectURI: String?
        /// `openid` is added when missing, as in `register_site`.
        public var scope: [String]?
        public var clientName: String?
        public var grantTypes: [String]?
        public var responseTypes: [String]?
        /// The ID-token signing algorithm to require, as in `register_site`; `none` opts in to unsigned ID tokens
        /// from the token endpoint.
        public var idTokenSignedResponseAlg: String?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case authorizationRedirectURI = "authorization_redirect_uri"
            case postLogoutRedirectURI = "post_logout_redirect_uri"
            case scope
            case clientName = "client_name"
            case grantTypes = "grant_types"
            case responseTypes = "response_types"
            case idTokenSignedResponseAlg = "id_token_signed_response_alg"
        }

        public init(oxdID: String, authorizationRedirectURI: String? = nil, postLogoutRedirectURI: String? = nil,
                    scope: [String]? = nil, clientName: String? = nil, grantTypes: [String]? = nil,
                    responseTypes: [String]? = nil, idTokenSignedResponseAlg: String? = nil) {
            self.oxdID = oxdID
            self.authorizationRedirectURI = authorizationRedirectURI
            self.postLogoutRedirectURI = postLogoutRedirectURI
            self.scope = scope
            self.clientName = clientName
            self.grantTypes = grantTypes
            self.responseTypes = responseTypes
            self.idTokenSignedResponseAlg = idTokenSignedResponseAlg
        }
    }

    public typealias Result = SiteMetadata
}
