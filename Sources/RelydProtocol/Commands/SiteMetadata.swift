/// A site's public metadata, as `get_site`, `list_sites` and `update_site` return it.
///
/// Never carries the client secret, the registration access token or the site's private key: those stay inside
/// the daemon.
public struct SiteMetadata: Codable, Sendable, Equatable {
    public var oxdID: String
    public var opHost: String
    public var clientID: String
    public var clientName: String?
    public var authorizationRedirectURI: String
    public var postLogoutRedirectURI: String?
    public var scope: [String]
    public var grantTypes: [String]
    public var responseTypes: [String]
    public var tokenEndpointAuthMethod: String
    public var idTokenSignedResponseAlg: String?
    /// Unix seconds; absent when the secret never expires.
    public var clientSecretExpiresAt: Int64?
    public var dynamicallyRegistered: Bool
    /// Unix seconds.
    public var createdAt: Int64
    /// `oidc` or `oauth2`.
    public var providerKind: String

    enum CodingKeys: String, CodingKey {
        case oxdID = "oxd_id"
        case opHost = "op_host"
        case clientID = "client_id"
        case clientName = "client_name"
        case authorizationRedirectURI = "authorization_redirect_uri"
        case postLogoutRedirectURI = "post_logout_redirect_uri"
        case scope
        case grantTypes = "grant_types"
        case responseTypes = "response_types"
        case tokenEndpointAuthMethod = "token_endpoint_auth_method"
        case idTokenSignedResponseAlg = "id_token_signed_response_alg"
        case clientSecretExpiresAt = "client_secret_expires_at"
        case dynamicallyRegistered = "dynamically_registered"
        case createdAt = "created_at"
        case providerKind = "provider_kind"
    }

    public init(oxdID: String, opHost: String, clientID: String, clientName: String?,
                authorizationRedirectURI: String, postLogoutRedirectURI: String?, scope: [String],
                grantTypes: [String], responseTypes: [String], tokenEndpointAuthMethod: String,
                idTokenSignedResponseAlg: String?, clientSecretExpiresAt: Int64?, dynamicallyRegistered: Bool,
                createdAt: Int64, providerKind: String) {
        self.oxdID = oxdID
        self.opHost = opHost
        self.clientID = clientID
        self.clientName = clientName
        self.authorizationRedirectURI = authorizationRedirectURI
        self.postLogoutRedirectURI = postLogoutRedirectURI
        self.scope = scope
        self.grantTypes = grantTypes
        self.responseTypes = responseTypes
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.idTokenSignedResponseAlg = idTokenSignedResponseAlg
        self.clientSecretExpiresAt = clientSecretExpiresAt
        self.dynamicallyRegistered = dynamicallyRegistered
        self.createdAt = createdAt
        self.providerKind = providerKind
    }
}

/// Parameters of the commands that name one site and nothing else.
public struct SiteParameters: CommandParameters, Equatable {
    public var oxdID: String

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case oxdID = "oxd_id"
    }

    public init(oxdID: String) {
        self.oxdID = oxdID
    }
}
