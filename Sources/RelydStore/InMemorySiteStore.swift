#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A ``SiteStore`` in memory with the same semantics as ``SQLiteSiteStore`` (minus durability), for tests of the
/// layers above the store. The actor's isolation makes every call atomic, as one SQLite statement is.
public actor InMemorySiteStore: SiteStore {
    private var sites: [String: Site] = [:]
    /// By `state.revealed`.
    private var pendings: [String: PendingAuthorization] = [:]
    /// By `accessTokenHash`.
    private var bindings: [String: TokenBinding] = [:]
    private var isClosed = false

    public init() {}

    public func insertSite(_ site: Site) throws(StoreError) {
        try checkOpen()
        guard sites[site.id] == nil else { throw StoreError(.duplicate, "sites: the id exists") }
        sites[site.id] = site
    }

    public func updateSite(_ site: Site) throws(StoreError) -> Bool {
        try checkOpen()
        guard sites[site.id] != nil else { return false }
        sites[site.id] = site
        return true
    }

    public func site(id: String) throws(StoreError) -> Site? {
        try checkOpen()
        return sites[id]
    }

    public func deleteSite(id: String) throws(StoreError) -> Bool {
        try checkOpen()
        guard sites.removeValue(forKey: id) != nil else { return false }
        pendings = pendings.filter { $0.value.siteID != id }
        bindings = bindings.filter { $0.value.siteID != id }
        return true
    }

    public func allSites() throws(StoreError) -> [Site] {
        try checkOpen()
        return sites.values.sorted { $0.id < $1.id }
    }

    public func insertPendingAuthorization(_ pending: PendingAuthorization) throws(StoreError) {
        try checkSiteExists(pending.siteID)
        guard pendings[pending.state.revealed] == nil else {
            throw StoreError(.duplicate, "pending_authorizations: the state exists")
        }
        pendings[pending.state.revealed] = pending
    }

    public func consumePendingAuthorization(state: String, siteID: String, now: Date) throws(StoreError)
        -> PendingAuthorization?
    {
        try checkOpen()
        guard let pending = pendings[state], pending.siteID == siteID else { return nil }
        pendings[state] = nil
        return isLive(pending.expiresAt, at: now) ? pending : nil
    }

    public func purgeExpired(now: Date) throws(StoreError) -> Int {
        try checkOpen()
        let before = pendings.count + bindings.count
        pendings = pendings.filter { isLive($0.value.expiresAt, at: now) }
        bindings = bindings.filter { isLive($0.value.expiresAt, at: now) }
        return before - pendings.count - bindings.count
    }

    public func insertTokenBinding(_ binding: TokenBinding) throws(StoreError) {
        try checkSiteExists(binding.siteID)
        bindings[binding.accessTokenHash] = binding
    }

    public func tokenBinding(accessTokenHash: String, now: Date) throws(StoreError) -> TokenBinding? {
        try checkOpen()
        guard let binding = bindings[accessTokenHash], isLive(binding.expiresAt, at: now) else { return nil }
        return binding
    }

    public func close() {
        isClosed = true
    }

    private func checkOpen() throws(StoreError) {
        if isClosed { throw StoreError(.io, "store: closed") }
    }

    /// What SQLite's foreign key does for the other backend.
    private func checkSiteExists(_ siteID: String) throws(StoreError) {
        try checkOpen()
        guard sites[siteID] != nil else { throw StoreError(.io, "FOREIGN KEY constraint failed") }
    }
}
