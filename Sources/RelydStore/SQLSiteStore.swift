import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics

/// How a SQL store reaches its connection: on which thread, and which connection (one that lives as long as the
/// store, or one reopened after the server dropped it).
protocol SQLConnectionProvider: Sendable {
    /// Runs `work` with a connection, off the Swift cooperative pool, and returns its result.
    func perform<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws(StoreError) -> T)
        async throws(StoreError) -> T
    /// Like ``perform(_:)``, for work that is one short statement without fsync (a login's steps): a provider may
    /// run it on the caller's thread.
    func performBrief<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws(StoreError) -> T)
        async throws(StoreError) -> T
    /// Closes the connection; later calls throw `.io`.
    func close() async
}

extension SQLConnectionProvider {
    func performBrief<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws(StoreError) -> T)
        async throws(StoreError) -> T
    {
        try await perform(work)
    }
}

/// The ``SiteStore`` of both SQL backends, written once: ``SQLiteSiteStore`` and ``PostgreSQLSiteStore`` only say
/// how to open their database and how work reaches its connection.
///
/// Sendability (`@unchecked`, since the class is not final): its only state is the immutable, Sendable `provider`
/// and `siteCache`.
public class SQLSiteStore: SiteStore, @unchecked Sendable {
    private let provider: any SQLConnectionProvider
    /// Only for a database this process alone writes (SQLite): with PostgreSQL, other instances change sites and
    /// each request must see their changes.
    private let siteCache: SiteCache?

    init(provider: any SQLConnectionProvider, cachesSites: Bool = false) {
        self.provider = provider
        self.siteCache = cachesSites ? SiteCache() : nil
    }

    public func insertSite(_ site: Site) async throws(StoreError) {
        let values = try SiteRow.values(of: site)
        try await provider.perform { [siteCache] connection throws(StoreError) in
            siteCache?.forget(id: site.id)
            try connection.insertSite(values)
        }
    }

    public func updateSite(_ site: Site) async throws(StoreError) -> Bool {
        let values = try SiteRow.values(of: site)
        return try await provider.perform { [siteCache] connection throws(StoreError) in
            siteCache?.forget(id: site.id)
            return try connection.updateSite(values)
        }
    }

    /// Every command starts here, so a cached site saves each of them a hop to the connection's thread and the
    /// row's decoding.
    public func site(id: String) async throws(StoreError) -> Site? {
        if let cached = siteCache?.site(id: id) { return cached }
        return try await provider.performBrief { [siteCache] connection throws(StoreError) in
            let site = try connection.site(id: id)
            // Remembered while holding the connection, in order with the writes that forget it: a read queued
            // before an update cannot leave the old row cached after the update returned.
            if let site { siteCache?.remember(site) }
            return site
        }
    }

    public func deleteSite(id: String) async throws(StoreError) -> Bool {
        try await provider.perform { [siteCache] connection throws(StoreError) in
            siteCache?.forget(id: id)
            return try connection.deleteSite(id: id)
        }
    }

    public func allSites() async throws(StoreError) -> [Site] {
        try await provider.perform { connection throws(StoreError) in try connection.allSites() }
    }

    public func insertPendingAuthorization(_ pending: PendingAuthorization) async throws(StoreError) {
        let values = try PendingRow.values(of: pending)
        try await provider.performBrief { connection throws(StoreError) in
            try connection.insertPendingAuthorization(values)
        }
    }

    public func consumePendingAuthorization(state: String, siteID: String, now: Date) async throws(StoreError)
        -> PendingAuthorization?
    {
        let pending = try await provider.performBrief { connection throws(StoreError) in
            try connection.consumePendingAuthorization(state: state, siteID: siteID)
        }
        guard let pending, isLive(pending.expiresAt, at: now) else { return nil }
        return pending
    }

    public func purgeExpired(now: Date) async throws(StoreError) -> Int {
        try await provider.perform { connection throws(StoreError) in try connection.purgeExpired(now: now) }
    }

    public func insertTokenBinding(_ binding: TokenBinding) async throws(StoreError) {
        try await insertTokenBindings([binding])
    }

    public func insertTokenBindings(_ bindings: [TokenBinding]) async throws(StoreError) {
        // The last binding of each hash, in order: what inserting them one after the other would leave.
        var latest: [String: Int] = [:]
        for (index, binding) in bindings.enumerated() { latest[binding.accessTokenHash] = index }
        let rows = bindings.indices.filter { latest[bindings[$0].accessTokenHash] == $0 }
            .map { TokenBindingRow.values(of: bindings[$0]) }
        guard !rows.isEmpty else { return }
        try await provider.performBrief { connection throws(StoreError) in try connection.insertTokenBindings(rows) }
    }

    public func tokenBinding(accessTokenHash: String, now: Date) async throws(StoreError) -> TokenBinding? {
        let binding = try await provider.performBrief { connection throws(StoreError) in
            try connection.tokenBinding(accessTokenHash: accessTokenHash)
        }
        guard let binding, isLive(binding.expiresAt, at: now) else { return nil }
        return binding
    }

    public func close() async {
        await provider.close()
        // After the connection's last queued work: a read queued before the close cannot leave a site behind.
        siteCache?.forgetAll()
    }
}

/// Sites read from the store, by id; bounded, so that a store with many sites does not end up wholly in memory.
///
/// When full, a new site takes the place of the one cached longest ago (first in, first out): reads do no
/// bookkeeping, and the cache never drops everything at once. Dropping 1,024 sites costs the request that does it
/// about a millisecond, and every read after it misses, so a host with a few more active sites than the capacity
/// would miss far more often than it has to.
final class SiteCache: Sendable {
    /// Enough for every site of a typical host.
    static let capacity = 1024
    private let entries = Locked(Entries())

    private struct Entries {
        var sites: [String: Site] = [:]
        /// The ids in the order they were cached, a ring of at most `capacity` slots. A forgotten id keeps its slot
        /// until its turn comes; removing it then finds nothing (or, if it was cached again meanwhile, lets that entry
        /// go early). Either way `sites` never holds more than `capacity`.
        var order: [String] = []
        /// The slot of `order` whose id leaves next, once `order` is full.
        var oldest = 0
    }

    func site(id: String) -> Site? {
        entries.withLock { $0.sites[id] }
    }

    var count: Int { entries.withLock { $0.sites.count } }

    func remember(_ site: Site) {
        entries.withLock { entries in
            if entries.sites[site.id] == nil {
                if entries.order.count < Self.capacity {
                    entries.order.append(site.id)
                } else {
                    entries.sites.removeValue(forKey: entries.order[entries.oldest])
                    entries.order[entries.oldest] = site.id
                    entries.oldest = (entries.oldest + 1) % Self.capacity
                }
            }
            entries.sites[site.id] = site
        }
    }

    func forget(id: String) {
        entries.withLock { _ = $0.sites.removeValue(forKey: id) }
    }

    func forgetAll() {
        entries.withLock { $0 = Entries() }
    }
}

extension DispatchQueue {
    /// Runs `work` on this queue and hands its result back to the awaiting task.
    ///
    /// The continuation carries a `Result` so that the typed `StoreError` survives the bridge (a throwing
    /// continuation would erase it to `any Error`).
    func perform<T: Sendable>(_ work: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError) -> T {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<T, StoreError>, Never>) in
            self.async { continuation.resume(returning: Result { () throws(StoreError) -> T in try work() }) }
        }
        return try result.get()
    }
}
