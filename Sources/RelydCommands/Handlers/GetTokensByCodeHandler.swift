import Foundation
import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydStore

/// `get_tokens_by_code`: redeem a code for the pending authorization named by `state`, then validate the ID token.
///
/// The state is consumed before the OP is called, so a replayed or forged state costs no OP call and a code can be
/// tried at most once per authorization.
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
        let provider = try await context.providers.metadata(issuer: site.opHost)
        // RFC 9207: an authorization response from another issuer is a mix-up attack.
        if let iss = parameters.iss, iss != provider.issuer {
            throw RelydError(.issuerMismatch, "the authorization response's 'iss' is not the site's issuer")
        }
        let authentication = try ClientAuthentication(site: site)
        let tokens = try await TokenExchange.redeem(
            code: Secret(parameters.code), pending: pending, authentication: authentication, provider: provider,
            environment: environment)
        guard let idToken = tokens.idToken else {
            throw RelydError(.opResponseInvalid, "the token response has no 'id_token'")
        }
        let expectations = IDTokenVerification.expectations(
            site: site, provider: provider, pending: pending, authentication: authentication,
            accessToken: tokens.accessToken, environment: environment)
        let validated = try await IDTokenVerification.validate(
            idToken, site: site, provider: provider, cache: context.providers, expectations: expectations)

        try await context.store.insertTokenBinding(TokenBinding(
            accessTokenHash: try AccessTokenHash.of(tokens.accessToken), siteID: site.id, subject: validated.subject,
            expiresAt: environment.clock.now().addingTimeInterval(TimeInterval(tokens.expiresIn ?? 3600))))
        context.logger.info("tokens issued", ("site.id", site.id), ("user.sub", validated.subject))
        return GetTokensByCode.Result(
            accessToken: tokens.accessToken.revealed, tokenType: tokens.tokenType, expiresIn: tokens.expiresIn,
            refreshToken: tokens.refreshToken?.revealed, idToken: idToken.revealed, idTokenClaims: validated.claims)
    }
}
