#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydStore

/// `register_site` for a plain OAuth 2.0 provider (GitHub-style): no discovery, no dynamic registration, no ID
/// tokens. The app names the endpoints and a pre-registered client; `op_host` stays the provider's identifier.
extension RegisterSiteHandler {
    /// The checked explicit endpoints, or nil when none were given (an OpenID Connect site).
    ///
    /// - Throws: `invalid_parameter` when only some endpoints are given, when one of them or `op_host` is not an
    ///   acceptable URL (https, or http on loopback with `allow_http_loopback`), or when an ID-token parameter is
    ///   given.
    static func plainOAuth2Endpoints(_ parameters: RegisterSite.Parameters, http: ProviderHTTPClient) throws
        -> ProviderEndpoints?
    {
        guard let authorization = parameters.authorizationEndpoint, let token = parameters.tokenEndpoint else {
            if parameters.authorizationEndpoint != nil || parameters.tokenEndpoint != nil
                || parameters.userinfoEndpoint != nil {
                throw RelydError(.invalidParameter, "'params.authorization_endpoint' and 'params.token_endpoint' "
                    + "go together, and 'params.userinfo_endpoint' needs them")
            }
            return nil
        }
        guard parameters.idTokenSignedResponseAlg == nil else {
            throw RelydError(.invalidParameter, "'params.id_token_signed_response_alg' does not apply to a "
                + "provider with explicit endpoints, which issues no ID tokens")
        }
        func endpoint(_ value: String, _ field: String) throws -> URL {
            try http.endpointURL(value, field: "params.\(field)", code: .invalidParameter)
        }
        _ = try endpoint(parameters.opHost, "op_host")
        return ProviderEndpoints(
            issuer: parameters.opHost,
            authorizationEndpoint: try endpoint(authorization, "authorization_endpoint"),
            tokenEndpoint: try endpoint(token, "token_endpoint"),
            userinfoEndpoint: try parameters.userinfoEndpoint.map { try endpoint($0, "userinfo_endpoint") })
    }

    /// The site for a plain OAuth 2.0 provider; its scopes are exactly the given ones (default none: the
    /// provider's default), since `openid`, `profile` and `email` mean nothing to such a provider.
    ///
    /// - Throws: `invalid_parameter` without a pre-registered client: such a provider offers no registration.
    static func oauth2Site(_ parameters: RegisterSite.Parameters, endpoints: ProviderEndpoints,
                           tokenEndpointAuthMethod: String, context: CommandContext) throws -> Site {
        guard let clientID = parameters.clientID, let clientSecret = parameters.clientSecret else {
            throw RelydError(.invalidParameter,
                             "a provider with explicit endpoints needs 'params.client_id' and 'params.client_secret'")
        }
        let environment = context.environment
        return Site(
            id: try newSiteID(environment.random), opHost: endpoints.issuer, clientID: clientID,
            clientSecret: Secret(clientSecret), clientSecretExpiresAt: nil, registrationAccessToken: nil,
            registrationClientURI: nil, redirectURI: parameters.authorizationRedirectURI,
            postLogoutRedirectURI: parameters.postLogoutRedirectURI, scopes: parameters.scope ?? [],
            clientName: parameters.clientName, grantTypes: parameters.grantTypes ?? ["authorization_code"],
            responseTypes: parameters.responseTypes ?? ["code"], tokenEndpointAuthMethod: tokenEndpointAuthMethod,
            idTokenSignedResponseAlg: nil, isDynamicallyRegistered: false, createdAt: environment.clock.now(),
            providerKind: .oauth2, authorizationEndpoint: endpoints.authorizationEndpoint.absoluteString,
            tokenEndpoint: endpoints.tokenEndpoint.absoluteString,
            userinfoEndpoint: endpoints.userinfoEndpoint?.absoluteString)
    }
}
