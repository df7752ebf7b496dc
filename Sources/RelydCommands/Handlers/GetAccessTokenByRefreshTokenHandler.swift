#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydStore

/// `get_access_token_by_refresh_token`: the refresh grant, single-flight per site and refresh token.
///
/// The user behind a refresh token is remembered from the login (a token binding on the refresh token's hash) and
/// carried over to each rotated refresh token, so that a refreshed ID token can be held to the original `sub`.
public enum GetAccessTokenByRefreshTokenHandler: CommandHandler {
    public typealias Command = GetAccessTokenByRefreshToken

    public static func run(_ parameters: GetAccessTokenByRefreshToken.Parameters, context: CommandContext)
        async throws -> GetAccessTokenByRefreshToken.Result
    {
        let refreshToken = try Secret(nonEmptyParameter: parameters.refreshToken, named: "refresh_token")
        let site = try await context.site(parameters.oxdID)
        let refreshTokenHash = try AccessTokenHash.of(refreshToken)
        // The scope is part of the key: callers asking for different scopes must not share one answer.
        let key = [site.id, refreshTokenHash, parameters.scope.map { $0.joined(separator: " ") } ?? ""]
            .joined(separator: "\n")
        return try await context.refreshes.run(key) {
            try await refresh(refreshToken, hash: refreshTokenHash, scopes: parameters.scope, site: site,
                              context: context)
        }
    }

    private static func refresh(_ refreshToken: Secret, hash: String, scopes: [String]?, site: Site,
                                context: CommandContext) async throws -> GetAccessTokenByRefreshToken.Result {
        let environment = context.environment
        let provider = try await context.providers.metadata(issuer: site.opHost)
        let authentication = try ClientAuthentication(site: site)
        let binding = try await context.store.tokenBinding(accessTokenHash: hash, now: environment.clock.now())
        let originalSubject = binding?.siteID == site.id ? binding?.subject : nil
        let tokens = try await TokenRefresh.refresh(
            refreshToken, scopes: scopes, authentication: authentication, provider: provider, environment: environment)
        let issuedAt = environment.clock.now()
        var validated: ValidatedIDToken?
        if let idToken = tokens.idToken {
            validated = try await TokenRefresh.validateIDToken(
                idToken, originalSubject: originalSubject, accessToken: tokens.accessToken, site: site,
                provider: provider, cache: context.providers, authentication: authentication, environment: environment)
        }
        let newRefreshToken = tokens.refreshToken ?? refreshToken
        if let subject = validated?.subject ?? originalSubject {
            try await TokenBindings.store(accessToken: tokens.accessToken, expiresIn: tokens.expiresIn,
                                          refreshToken: newRefreshToken, subject: subject, site: site,
                                          context: context)
        }
        context.logger.info("tokens refreshed", ("site.id", site.id), ("token.rotated", String(tokens.refreshToken != nil)))
        return GetAccessTokenByRefreshToken.Result(
            accessToken: tokens.accessToken.revealed, tokenType: tokens.tokenType, expiresIn: tokens.expiresIn,
            expiresAt: tokens.expiresAt(issuedAt: issuedAt), scope: tokens.scope ?? scopes ?? site.scopes,
            refreshToken: newRefreshToken.revealed, idToken: tokens.idToken?.revealed,
            idTokenClaims: validated?.claims)
    }
}
