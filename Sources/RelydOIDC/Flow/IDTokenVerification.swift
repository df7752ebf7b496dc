#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
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
        do {
            return try await withProviderKeys(provider: provider, cache: cache) { keys throws(IDTokenFailure) in
                try IDTokenValidator.validate(token.revealed, expectations: expectations, keys: keys)
            }
        } catch let failure as IDTokenFailure {
            throw RelydError(.idTokenInvalid, "ID token check '\(failure.check.rawValue)' failed: \(failure.message)")
        }
    }

    /// Runs `validate` with the OP's cached keys and, when the token names a key the cached set lacks (the OP
    /// rotated its keys), once more with a refetched set. `validate` checks a signature, so it runs on the
    /// ``ComputePool``.
    ///
    /// - Throws: the ``IDTokenFailure`` of `validate`, or the cache's errors when the keys cannot be fetched.
    static func withProviderKeys<Validated: Sendable>(
        provider: ProviderMetadata, cache: ProviderCache,
        _ validate: @escaping @Sendable (JWKSet) throws(IDTokenFailure) -> Validated
    ) async throws -> Validated {
        let keys = try await cache.keys(for: provider)
        do {
            return try await ComputePool.run { try validate(keys) }
        } catch let failure as IDTokenFailure where failure.check == .unknownKey {
            let refreshed = try await cache.keys(for: provider, refreshingForUnknownKey: true)
            return try await ComputePool.run { try validate(refreshed) }
        }
    }

    /// The expectations for an ID token answering `pending` (OpenID Connect Core 3.1.3.7).
    ///
    /// - Parameter fromTokenEndpoint: true when relyd itself received the token from the token endpoint (code
    ///   exchange, refresh). Only then may a site registered with `id_token_signed_response_alg` `none` get an
    ///   unsigned token: TLS to the OP stands in for the signature (Core 3.1.3.7 step 6). Anywhere else such a site
    ///   accepts no token at all.
    public static func expectations(site: Site, provider: ProviderMetadata, pending: PendingAuthorization?,
                                    authentication: ClientAuthentication, accessToken: Secret?,
                                    fromTokenEndpoint: Bool, environment: OIDCEnvironment) -> IDTokenExpectations {
        let unsigned = fromTokenEndpoint && site.idTokenSignedResponseAlg == JWSAlgorithm.none.rawValue
        return IDTokenExpectations(
            issuer: provider.issuer,
            clientID: site.clientID,
            nonce: pending?.nonce.revealed,
            allowedAlgorithms: unsigned ? [.none] : allowedAlgorithms(site: site, provider: provider),
            clientSecret: authentication.sharedSecret,
            accessToken: accessToken?.revealed,
            maxAge: pending?.maxAge,
            acrValues: pending?.acrValues,
            now: environment.clock.now(),
            clockSkew: environment.settings.clockSkew,
            acceptsUnsigned: unsigned)
    }
}
