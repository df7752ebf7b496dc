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
    public var version: String
    public var startedAt: Date
    /// The `jti`s of accepted back-channel logout tokens, shared by all sites so a replay is refused.
    public let logoutTokenReplays = TokenReplayCache()

    public init(store: any SiteStore, environment: OIDCEnvironment, version: String) {
        self.store = store
        self.environment = environment
        self.providers = ProviderCache(environment: environment)
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
