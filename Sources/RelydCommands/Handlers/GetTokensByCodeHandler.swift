#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydStore

/// `get_tokens_by_code`: redeem a code for the pending authorization named by `state`, then validate the ID token.
///
/// The state is consumed before the OP is called, so a replayed or forged state costs no OP call and a code can be
/// tried at most once per authorization. A plain OAuth 2.0 site issues no ID token: the ID token is neither
/// required nor returned there (one the provider sends anyway is dropped unvalidated), while an OpenID Connect
/// site's token response without one still fails.
public enum GetTokensByCodeHandler: CommandHandler {
    public typealias Command = GetTokensByCode

    public static func run(_ parameters: GetTokensByCode.Parameters, context: CommandContext) async throws
        -> GetTokensByCode.Result
    {
        let environment = context.environment
        let site = try await context.site(parameters.oxdID)
        guard let pending = try await context.store.consumePendingAuthorization(
            state: parameters.state, siteID: site.id, now: environment.clock.now())
        else {
            throw RelydError(.invalidState, "the state is unknown, expired, already used, or of another site")
        }
        let endpoints = try await ProviderEndpoints.of(site, providers: context.providers, http: environment.http)
        // RFC 9207: an authorization response from another issuer is a mix-up attack.
        if let iss = parameters.iss, iss != endpoints.issuer {
            throw RelydError(.issuerMismatch, "the authorization response's 'iss' is not the site's issuer")
        }
        let authentication = try ClientAuthentication(site: site)
        let tokens = try await TokenExchange.redeem(
            code: Secret(parameters.code), pending: pending, authentication: authentication, endpoints: endpoints,
            environment: environment)
        let issuedAt = environment.clock.now()

        var identity: (idToken: Secret, validated: ValidatedIDToken)?
        if let provider = endpoints.openIDConnect {
            guard let idToken = tokens.idToken else {
                throw RelydError(.opResponseInvalid, "the token response has no 'id_token'")
            }
            let expectations = IDTokenVerification.expectations(
                site: site, provider: provider, pending: pending, authentication: authentication,
                accessToken: tokens.accessToken, fromTokenEndpoint: true, environment: environment)
            let validated = try await IDTokenVerification.validate(
                idToken, site: site, provider: provider, cache: context.providers, expectations: expectations)
            try await TokenBindings.store(accessToken: tokens.accessToken, expiresIn: tokens.expiresIn,
                                          refreshToken: tokens.refreshToken, subject: validated.subject, site: site,
                                          context: context)
            identity = (idToken, validated)
        }
        context.logger.info("tokens issued", ("site.id", site.id), ("user.sub", identity?.validated.subject ?? "-"))
        return GetTokensByCode.Result(
            accessToken: tokens.accessToken.revealed, tokenType: tokens.tokenType, expiresIn: tokens.expiresIn,
            expiresAt: tokens.expiresAt(issuedAt: issuedAt),
            scope: tokens.scope ?? endpoints.requestedScopes(site.scopes),
            refreshToken: tokens.refreshToken?.revealed, idToken: identity?.idToken.revealed,
            idTokenClaims: identity?.validated.claims)
    }
}
