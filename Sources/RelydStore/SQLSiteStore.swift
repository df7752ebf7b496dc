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
private final class SiteCache: Sendable {
    /// Enough for every site of a typical host; when full, the cache starts over rather than tracking recency.
    private static let capacity = 1024
    private let sites = Locked<[String: Site]>([:])

    func site(id: String) -> Site? {
        sites.withLock { $0[id] }
    }

    func remember(_ site: Site) {
        sites.withLock { sites in
            if sites.count >= Self.capacity { sites.removeAll(keepingCapacity: true) }
            sites[site.id] = site
        }
    }

    func forget(id: String) {
        sites.withLock { _ = $0.removeValue(forKey: id) }
    }

    func forgetAll() {
        sites.withLock { $0.removeAll() }
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
