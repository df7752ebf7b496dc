#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydProtocol
import RelydStore

/// Validates a back-channel logout token for a site against its OP's keys (with the same unknown-kid refetch as
/// ID tokens), then refuses a `jti` already seen from that issuer.
public enum LogoutTokenVerification {
    /// - Throws: `logout_token_invalid` naming the failed check (`replayed` for a reused `jti`), or the cache's
    ///   errors when the keys cannot be fetched.
    public static func validate(_ token: Secret, site: Site, provider: ProviderMetadata, cache: ProviderCache,
                                replays: TokenReplayCache, environment: OIDCEnvironment) async throws
        -> ValidatedLogoutToken
    {
        let now = environment.clock.now()
        let expectations = LogoutTokenExpectations(
            issuer: provider.issuer, clientID: site.clientID,
            allowedAlgorithms: IDTokenVerification.allowedAlgorithms(site: site, provider: provider),
            clientSecret: site.clientSecret?.revealed, now: now, clockSkew: environment.settings.clockSkew,
            maximumAge: environment.settings.logoutTokenMaximumAge)
        let validated: ValidatedLogoutToken
        do {
            validated = try await IDTokenVerification.withProviderKeys(provider: provider, cache: cache) {
                keys throws(IDTokenFailure) in
                try LogoutTokenValidator.validate(token.revealed, expectations: expectations, keys: keys)
            }
        } catch let failure as IDTokenFailure {
            throw relydError(failure)
        }
        guard await replays.record(issuer: validated.issuer, tokenID: validated.tokenID,
                                   until: validated.acceptableUntil, now: now)
        else {
            throw relydError(IDTokenFailure(.replayed, "this jti was already accepted"))
        }
        return validated
    }

    private static func relydError(_ failure: IDTokenFailure) -> RelydError {
        RelydError(.logoutTokenInvalid, "logout token check '\(failure.check.rawValue)' failed: \(failure.message)")
    }
}
