#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydProtocol
import RelydStore

/// The refresh token grant (RFC 6749 6) and the checks OpenID Connect Core 12.2 requires of its ID token.
public enum TokenRefresh {
    /// Sends the refresh token to the token endpoint; `scopes`, when given and not empty, narrow the original grant.
    public static func refresh(_ refreshToken: Secret, scopes: [String]?, authentication: ClientAuthentication,
                               provider: ProviderMetadata, environment: OIDCEnvironment) async throws -> TokenResponse {
        var form = [("grant_type", "refresh_token"), ("refresh_token", refreshToken.revealed)]
        if let scopes, !scopes.isEmpty { form.append(("scope", try OAuthScope.joined(scopes, parameter: "scope"))) }
        return try await TokenExchange.grant(form, authentication: authentication,
                                             endpoints: ProviderEndpoints(metadata: provider), environment: environment)
    }

    /// Validates an ID token returned by a refresh like the code flow's (without a nonce: none was sent), and
    /// requires the user of the original login (Core 12.2): `iss` is the site's issuer (checked by the validator
    /// against the same issuer the original was) and `sub` is `originalSubject` when relyd knows it.
    ///
    /// - Throws: `id_token_invalid` naming the failed check (`subject` for another user).
    public static func validateIDToken(_ idToken: Secret, originalSubject: String?, accessToken: Secret,
                                       site: Site, provider: ProviderMetadata, cache: ProviderCache,
                                       authentication: ClientAuthentication,
                                       environment: OIDCEnvironment) async throws -> ValidatedIDToken {
        let expectations = IDTokenVerification.expectations(
            site: site, provider: provider, pending: nil, authentication: authentication, accessToken: accessToken,
            fromTokenEndpoint: true, environment: environment)
        let validated = try await IDTokenVerification.validate(
            idToken, site: site, provider: provider, cache: cache, expectations: expectations)
        if let originalSubject, validated.subject != originalSubject {
            throw RelydError(.idTokenInvalid,
                             "ID token check 'subject' failed: the refreshed ID token's sub is not the original's")
        }
        return validated
    }
}
