#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydProtocol
import RelydStore

/// What the code flow needs to know about a site's provider: where its endpoints are, and whether it speaks
/// OpenID Connect.
///
/// An OpenID Connect provider's endpoints come from its checked discovery document; a plain OAuth 2.0 provider's
/// (GitHub-style, no discovery, no ID tokens) come from the site, where `register_site` stored them. The flow code
/// reads endpoints only from here, so the two kinds differ in exactly one place: ``openIDConnect``, which carries
/// the metadata that ID token validation needs and is nil when the provider issues no ID tokens.
public struct ProviderEndpoints: Sendable, Equatable {
    /// The provider's identifier: the discovered issuer, or a plain OAuth 2.0 site's `op_host` (never fetched).
    public var issuer: String
    public var authorizationEndpoint: URL
    public var tokenEndpoint: URL
    public var userinfoEndpoint: URL?
    /// The discovery metadata of an OpenID Connect provider; nil for a plain OAuth 2.0 provider.
    public var openIDConnect: ProviderMetadata?

    public init(metadata: ProviderMetadata) {
        issuer = metadata.issuer
        authorizationEndpoint = metadata.authorizationEndpoint
        tokenEndpoint = metadata.tokenEndpoint
        userinfoEndpoint = metadata.userinfoEndpoint
        openIDConnect = metadata
    }

    public init(issuer: String, authorizationEndpoint: URL, tokenEndpoint: URL, userinfoEndpoint: URL?) {
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.userinfoEndpoint = userinfoEndpoint
        openIDConnect = nil
    }

    /// The endpoints of `site`: discovery (cached) for an OpenID Connect site, the stored endpoints otherwise.
    ///
    /// Stored endpoints are checked again against the URL policy, as an OpenID Connect site's issuer is at every
    /// discovery, so that turning `allow_http_loopback` off also stops existing sites from using http.
    ///
    /// - Throws: the errors of ``ProviderCache/metadata(issuer:)``; `invalid_parameter` for a stored endpoint the
    ///   policy now refuses; `internal_error` for a plain OAuth 2.0 site stored without its endpoints.
    public static func of(_ site: Site, providers: ProviderCache, http: ProviderHTTPClient) async throws
        -> ProviderEndpoints
    {
        switch site.providerKind {
        case .openIDConnect:
            return ProviderEndpoints(metadata: try await providers.metadata(issuer: site.opHost))
        case .oauth2:
            guard let authorization = site.authorizationEndpoint, let token = site.tokenEndpoint else {
                throw RelydError(.internalError, RelydError.internalErrorMessage)
            }
            return ProviderEndpoints(
                issuer: site.opHost,
                authorizationEndpoint: try http.endpointURL(
                    authorization, field: "authorization_endpoint", code: .invalidParameter),
                tokenEndpoint: try http.endpointURL(token, field: "token_endpoint", code: .invalidParameter),
                userinfoEndpoint: try site.userinfoEndpoint.map {
                    try http.endpointURL($0, field: "userinfo_endpoint", code: .invalidParameter)
                })
        }
    }

    /// True when the provider issues ID tokens, so the flow sends a nonce and validates the ID token.
    public var issuesIDTokens: Bool { openIDConnect != nil }

    /// The scopes to request: an OpenID Connect provider needs `openid` (without it the OP would not run OpenID
    /// Connect at all); a plain OAuth 2.0 provider gets exactly the given scopes, which may be none.
    public func requestedScopes(_ scopes: [String]) -> [String] {
        issuesIDTokens ? AuthorizationRequest.withOpenID(scopes) : scopes
    }
}
