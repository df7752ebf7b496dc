#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydOIDC
import RelydStore

/// Remembers which user the tokens relyd hands out belong to, by their hashes, never the tokens themselves: the
/// access token's binding lets `get_user_info` check the userinfo `sub`, the refresh token's lets a refresh check
/// that a new ID token names the same user.
enum TokenBindings {
    static func store(accessToken: Secret, expiresIn: Int?, refreshToken: Secret?, subject: String, site: Site,
                      context: CommandContext) async throws {
        let now = context.environment.clock.now()
        var bindings = [TokenBinding(
            accessTokenHash: try AccessTokenHash.of(accessToken), siteID: site.id, subject: subject,
            expiresAt: now.addingTimeInterval(TimeInterval(expiresIn ?? 3600)))]
        if let refreshToken {
            bindings.append(TokenBinding(
                accessTokenHash: try AccessTokenHash.of(refreshToken), siteID: site.id, subject: subject,
                expiresAt: now.addingTimeInterval(context.environment.settings.refreshTokenBindingLifetime)))
        }
        // One write for both: each store write is a commit.
        try await context.store.insertTokenBindings(bindings)
    }
}
