import Foundation
import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydStore

/// Everything a command handler may use. Built once by the daemon and shared by all requests.
public struct CommandContext: Sendable {
    public var store: any SiteStore
    public var environment: OIDCEnvironment
    public var providers: ProviderCache
    /// In-flight refreshes by site and refresh token, so concurrent refreshes of one token reach the OP once.
    public var refreshes: SingleFlight<GetAccessTokenByRefreshToken.Result>
    /// The sites' client-credentials tokens (memory only).
    public var clientTokens: ClientTokenCache
    public var version: String
    public var startedAt: Date

    public init(store: any SiteStore, environment: OIDCEnvironment, version: String) {
        self.store = store
        self.environment = environment
        self.providers = ProviderCache(environment: environment)
        self.refreshes = SingleFlight()
        self.clientTokens = ClientTokenCache(clock: environment.clock)
        self.version = version
        self.startedAt = environment.clock.now()
    }

    public var logger: Logger { environment.logger }

    /// The site with id `oxdID`.
    ///
    /// - Throws: `unknown_site` when there is none.
    public func site(_ oxdID: String) async throws -> Site {
        guard let site = try await store.site(id: oxdID) else {
            throw RelydError(.unknownSite, "no site has oxd_id '\(RelydError.quoting(oxdID, limit: 80))'")
        }
        return site
    }
}
