#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydProtocol
import RelydStore

/// Transparent re-registration of dynamically registered sites whose client secret has expired
/// (`client_secret_expires_at`, RFC 7591 3.2.1), so that apps never see a login fail for that reason.
///
/// The site keeps its `oxd_id`. Its registration is first read back at its `registration_client_uri`
/// (RFC 7592 2.1), where an OP hands out the rotated secret; when that is unavailable, refused, or still answers
/// an expired secret, the client is registered anew (RFC 7591) with the same metadata. Renewals are single-flight
/// per site: concurrent commands for the same site wait for one renewal, and the stored site is read again inside
/// it so that a command arriving just after a renewal does not start another.
public actor SiteRenewal {
    private var renewals: [String: Task<Site, any Error>] = [:]

    public init() {}

    /// True when `site`'s secret has expired at `now` and relyd can obtain a new one.
    public static func isDue(_ site: Site, now: Date) -> Bool {
        guard site.isDynamicallyRegistered, let expiresAt = site.clientSecretExpiresAt else { return false }
        return expiresAt <= now
    }

    /// `site`, renewed first when its secret has expired.
    ///
    /// - Throws: `unknown_site` when the site was removed meanwhile; the errors of discovery, RFC 7591
    ///   registration and RFC 7592 reads.
    public func current(_ site: Site, store: any SiteStore, providers: ProviderCache,
                        environment: OIDCEnvironment) async throws -> Site {
        guard Self.isDue(site, now: environment.clock.now()) else { return site }
        if let renewal = renewals[site.id] { return try await renewal.value }
        let renewal = Task {
            try await Self.renew(siteID: site.id, store: store, providers: providers, environment: environment)
        }
        renewals[site.id] = renewal
        defer { renewals[site.id] = nil }
        return try await renewal.value
    }

    private static func renew(siteID: String, store: any SiteStore, providers: ProviderCache,
                              environment: OIDCEnvironment) async throws -> Site {
        guard var site = try await store.site(id: siteID) else { throw Self.removed(siteID) }
        let now = environment.clock.now()
        guard isDue(site, now: now) else { return site }
        let requested = ClientMetadataRequest(site: site)
        let method: String
        if let read = try await rotatedRegistration(of: site, requested: requested, now: now,
                                                    environment: environment) {
            method = "read"
            site.adopt(read)
        } else {
            method = "register"
            let provider = try await providers.metadata(issuer: site.opHost)
            site.adopt(try await ClientRegistration.register(requested, at: provider, http: environment.http))
        }
        guard try await store.updateSite(site) else { throw Self.removed(siteID) }
        environment.logger.notice("site re-registered after its client secret expired", ("site.id", site.id),
                                  ("client.id", site.clientID), ("renewal.method", method))
        return site
    }

    /// The registration read back at the site's `registration_client_uri`, when the OP offers that and answers
    /// a secret that is valid at `now`; nil when a new registration is needed. An unreachable OP is an error.
    private static func rotatedRegistration(of site: Site, requested: ClientMetadataRequest, now: Date,
                                            environment: OIDCEnvironment) async throws -> RegisteredClient? {
        guard let handle = try? ClientRegistrationManagement.handle(of: site, http: environment.http) else {
            return nil
        }
        do {
            let read = try await ClientRegistrationManagement.read(handle, requested: requested, http: environment.http)
            if let expiresAt = read.clientSecretExpiresAt, expiresAt <= now { return nil }
            return read
        } catch let error as RelydError where error.code == .opError || error.code == .opResponseInvalid {
            environment.logger.info("reading the client registration failed; registering anew",
                                    ("site.id", site.id), ("error.code", error.code.rawValue),
                                    ("error.description", error.loggableDescription))
            return nil
        }
    }

    private static func removed(_ siteID: String) -> RelydError {
        RelydError(.unknownSite, "no site has oxd_id '\(RelydError.quoting(siteID, limit: 80))'")
    }
}
