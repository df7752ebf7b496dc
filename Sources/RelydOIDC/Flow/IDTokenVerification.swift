import Foundation
import RelydBasics
import RelydProtocol
import RelydStore

/// Validates an ID token for a site against its OP's keys, refetching the keys once when the token names a key
/// the cached set lacks (the OP rotated its keys).
public enum IDTokenVerification {
    /// The algorithms a site accepts: the one it registered, otherwise every algorithm the OP advertises that relyd
    /// implements. `none` is never accepted.
    public static func allowedAlgorithms(site: Site, provider: ProviderMetadata) -> Set<JWSAlgorithm> {
        let names = site.idTokenSignedResponseAlg.map { [$0] } ?? provider.idTokenSigningAlgValuesSupported
        return Set(names.compactMap(JWSAlgorithm.init(rawValue:)).filter { $0 != .none })
    }

    /// - Throws: `id_token_invalid` naming the failed check, or the cache's errors when the keys cannot be fetched.
    public static func validate(_ token: Secret, site: Site, provider: ProviderMetadata, cache: ProviderCache,
                                expectations: IDTokenExpectations) async throws -> ValidatedIDToken {
        var keys = try await cache.keys(for: provider)
        do {
            return try IDTokenValidator.validate(token.revealed, expectations: expectations, keys: keys)
        } catch let failure where failure.check == .unknownKey {
            keys = try await cache.keys(for: provider, refreshingForUnknownKey: true)
        } catch {
            throw relydError(error)
        }
        do {
            return try IDTokenValidator.validate(token.revealed, expectations: expectations, keys: keys)
        } catch {
            throw relydError(error)
        }
    }

    /// The expectations for an ID token answering `pending` (OpenID Connect Core 3.1.3.7).
    public static func expectations(site: Site, provider: ProviderMetadata, pending: PendingAuthorization?,
                                    authentication: ClientAuthentication, accessToken: Secret?,
                                    environment: OIDCEnvironment) -> IDTokenExpectations {
        IDTokenExpectations(
            issuer: provider.issuer,
            clientID: site.clientID,
            nonce: pending?.nonce.revealed,
            allowedAlgorithms: allowedAlgorithms(site: site, provider: provider),
            clientSecret: authentication.sharedSecret,
            accessToken: accessToken?.revealed,
            maxAge: pending?.maxAge,
            acrValues: pending?.acrValues,
            now: environment.clock.now(),
            clockSkew: environment.settings.clockSkew)
    }

    private static func relydError(_ failure: IDTokenFailure) -> RelydError {
        RelydError(.idTokenInvalid, "ID token check '\(failure.check.rawValue)' failed: \(failure.message)")
    }
}
