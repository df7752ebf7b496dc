#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydStore

/// `register_site`: discovery, then dynamic registration unless a client id was given, then the site is stored;
/// or, with explicit endpoints, a plain OAuth 2.0 site (see `RegisterSiteHandler+OAuth2.swift`).
///
/// The site is acknowledged only after the store has made it durable, so an `oxd_id` a client has seen always
/// survives a crash of the daemon.
public enum RegisterSiteHandler: CommandHandler {
    public typealias Command = RegisterSite
    public static let changesSites = true

    static let defaultScopes = ["openid", "profile", "email"]

    public static func run(_ parameters: RegisterSite.Parameters, context: CommandContext) async throws
        -> RegisterSite.Result
    {
        let environment = context.environment
        try checkRedirectURI(parameters.authorizationRedirectURI, field: "authorization_redirect_uri")
        if let uri = parameters.postLogoutRedirectURI { try checkRedirectURI(uri, field: "post_logout_redirect_uri") }
        let method = parameters.tokenEndpointAuthMethod ?? "client_secret_basic"
        guard ClientAuthentication.supportedMethods.contains(method) else {
            throw RelydError(.invalidParameter, "'params.token_endpoint_auth_method' must be one of "
                + ClientAuthentication.supportedMethods.joined(separator: ", "))
        }
        if let alg = parameters.idTokenSignedResponseAlg { try checkIDTokenAlgorithm(alg) }
        // A private_key_jwt client authenticates with relyd's key, so a pre-registered one needs no secret.
        if parameters.clientSecret != nil && parameters.clientID == nil
            || parameters.clientID != nil && parameters.clientSecret == nil && method != "private_key_jwt"
        {
            throw RelydError(.invalidParameter, "'params.client_id' and 'params.client_secret' go together"
                + " (private_key_jwt needs no client_secret)")
        }
        if let endpoints = try plainOAuth2Endpoints(parameters, http: environment.http) {
            guard method != "private_key_jwt", parameters.signingAlg == nil else {
                throw RelydError(.invalidParameter, "private_key_jwt is offered only for OpenID Connect providers")
            }
            return try await acknowledge(
                try oauth2Site(parameters, endpoints: endpoints, tokenEndpointAuthMethod: method, context: context),
                context: context)
        }
        let signingAlgorithm = try signingAlgorithm(method: method, requested: parameters.signingAlg)
        let scopes = AuthorizationRequest.withOpenID(parameters.scope ?? defaultScopes)
        let provider = try await context.providers.metadata(issuer: parameters.opHost)
        // Only once the OP is known and allowed: a key pair holds a pool thread for up to half a second, which a
        // request bound to fail must not cost.
        var signingKey: SiteSigningKey?
        if let signingAlgorithm {
            signingKey = try await ComputePool.run { try SiteSigningKey.generate(algorithmNamed: signingAlgorithm) }
        }

        let client: RegisteredClient
        if let clientID = parameters.clientID {
            client = RegisteredClient(
                clientID: clientID, clientSecret: parameters.clientSecret.map(Secret.init), clientSecretExpiresAt: nil,
                registrationAccessToken: nil, registrationClientURI: nil, tokenEndpointAuthMethod: method,
                idTokenSignedResponseAlg: parameters.idTokenSignedResponseAlg,
                grantTypes: parameters.grantTypes ?? ["authorization_code"],
                responseTypes: parameters.responseTypes ?? ["code"])
        } else {
            let request = ClientMetadataRequest(
                redirectURIs: [parameters.authorizationRedirectURI],
                postLogoutRedirectURIs: parameters.postLogoutRedirectURI.map { [$0] } ?? [],
                responseTypes: parameters.responseTypes ?? ["code"],
                grantTypes: parameters.grantTypes ?? ["authorization_code"],
                clientName: parameters.clientName, scope: scopes, tokenEndpointAuthMethod: method,
                idTokenSignedResponseAlg: parameters.idTokenSignedResponseAlg, jwks: signingKey?.publicJWKSet)
            client = try await ClientRegistration.register(request, at: provider, http: environment.http)
            if client.tokenEndpointAuthMethod == "private_key_jwt" && signingKey == nil {
                throw RelydError(.opResponseInvalid, "the OP registered private_key_jwt, which was not asked for")
            }
        }

        let site = Site(
            id: try newSiteID(environment.random), opHost: provider.issuer, clientID: client.clientID,
            clientSecret: client.clientSecret, clientSecretExpiresAt: client.clientSecretExpiresAt,
            registrationAccessToken: client.registrationAccessToken,
            registrationClientURI: client.registrationClientURI, redirectURI: parameters.authorizationRedirectURI,
            postLogoutRedirectURI: parameters.postLogoutRedirectURI, scopes: scopes, clientName: parameters.clientName,
            grantTypes: client.grantTypes, responseTypes: client.responseTypes,
            tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
            idTokenSignedResponseAlg: client.idTokenSignedResponseAlg,
            isDynamicallyRegistered: parameters.clientID == nil, createdAt: environment.clock.now(),
            signingKey: try signingKey?.pem(), signingKeyID: signingKey?.keyID,
            signingAlgorithm: signingKey?.algorithm.rawValue)
        return try await acknowledge(site, context: context)
    }

    /// Stores the site durably, then answers with its `oxd_id`.
    static func acknowledge(_ site: Site, context: CommandContext) async throws -> RegisterSite.Result {
        try await context.store.insertSite(site)
        context.logger.notice("site registered", ("site.id", site.id), ("op.issuer", site.opHost),
                              ("client.id", site.clientID), ("site.dynamic", String(site.isDynamicallyRegistered)))
        return RegisterSite.Result(oxdID: site.id, clientID: site.clientID, opHost: site.opHost)
    }

    /// The algorithm of the site's new key pair when it authenticates with `private_key_jwt` (RS256 unless
    /// `signing_alg` says ES256), nil for the other methods. The pair is made later, on the ``ComputePool``: an
    /// RSA-2048 pair takes 50-500 ms.
    ///
    /// - Throws: `invalid_parameter` for an unsupported `signing_alg`, or one given with another method.
    static func signingAlgorithm(method: String, requested name: String?) throws -> String? {
        guard method == "private_key_jwt" else {
            guard name == nil else {
                throw RelydError(.invalidParameter, "'params.signing_alg' goes only with private_key_jwt")
            }
            return nil
        }
        return try SiteSigningKey.supportedAlgorithm(named: name ?? SiteSigningKey.supportedAlgorithms[0].rawValue)
            .rawValue
    }

    /// `id_token_signed_response_alg` must name an algorithm relyd implements; `none` is accepted as the app's
    /// explicit opt-in to unsigned ID tokens from the token endpoint.
    static func checkIDTokenAlgorithm(_ name: String) throws {
        guard JWSAlgorithm(rawValue: name) != nil else {
            throw RelydError(.invalidParameter, "'params.id_token_signed_response_alg' is not a supported algorithm")
        }
    }

    /// A redirect URI must be absolute and carry no fragment (RFC 6749 3.1.2).
    static func checkRedirectURI(_ uri: String, field: String) throws {
        guard let components = URLComponents(string: uri), let scheme = components.scheme, !scheme.isEmpty,
              components.host?.isEmpty == false, components.fragment == nil
        else {
            throw RelydError(.invalidParameter, "'params.\(field)' must be an absolute URL without a fragment")
        }
    }

    /// A random version-4 UUID: the opaque, unguessable `oxd_id`.
    static func newSiteID(_ random: any RandomSource) throws -> String {
        var bytes = try random.bytes(16)
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = bytes.lowercaseHex
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4),
                     hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }
}
