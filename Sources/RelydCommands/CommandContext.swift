#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydStore

/// Everything a command handler may use. Built once by the daemon and shared by all requests.
public struct CommandContext: Sendable {
    public var store: any SiteStore
    public var environment: OIDCEnvironment
    public var providers: ProviderCache
    public var renewals: SiteRenewal
    /// In-flight refreshes by site and refresh token, so concurrent refreshes of one token reach the OP once.
    public var refreshes: SingleFlight<GetAccessTokenByRefreshToken.Result>
    /// The sites' client-credentials tokens (memory only).
    public var clientTokens: ClientTokenCache
    public var version: String
    public var startedAt: Date
    /// The `jti`s of accepted back-channel logout tokens, shared by all sites so a replay is refused.
    public let logoutTokenReplays = TokenReplayCache()
    /// Requests and errors per command, counted by the dispatcher.
    public let commandStatistics = CommandStatistics()
    /// The daemon's connection and store figures for `stats`.
    public var operations = OperationalProbes()
    /// Calls to the OPs, timed by the ``MeasuringTransport`` the daemon wraps around its transport.
    public var opCalls = OPCallStatistics()

    public init(store: any SiteStore, environment: OIDCEnvironment, version: String) {
        self.store = store
        self.environment = environment
        self.providers = ProviderCache(environment: environment)
        self.renewals = SiteRenewal()
        self.refreshes = SingleFlight()
        self.clientTokens = ClientTokenCache(clock: environment.clock)
        self.version = version
        self.startedAt = environment.clock.now()
    }

    public var logger: Logger { environment.logger }

    /// The site with id `oxdID`, ready to use: re-registered first when its client secret has expired, so that
    /// every command that talks to the OP for a site gets working credentials from this one place.
    ///
    /// - Throws: `unknown_site` when there is none; the OP errors of a re-registration (see ``SiteRenewal``).
    public func site(_ oxdID: String) async throws -> Site {
        try await renewals.current(try await storedSite(oxdID), store: store, providers: providers,
                                   environment: environment)
    }

    /// The site with id `oxdID` as stored, without calling the OP.
    ///
    /// - Throws: `unknown_site` when there is none.
    public func storedSite(_ oxdID: String) async throws -> Site {
        guard let site = try await store.site(id: oxdID) else {
            throw RelydError(.unknownSite, "no site has oxd_id '\(RelydError.quoting(oxdID, limit: 80))'")
        }
        return site
    }
}
