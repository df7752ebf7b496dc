import Foundation

/// Why the store failed. The detail is for the log; callers answer `internal_error`.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A site with this id already exists.
        case duplicate
        /// The database could not be opened, read or written.
        case io
        /// The state directory or a database file has an unsafe owner or mode.
        case unsafePermissions
        /// The database holds a schema this relyd does not know.
        case schema
    }

    public var kind: Kind
    /// Detail for the log: the C function and its message. Never contains stored values.
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "\(kind): \(detail)" }
}

/// Durable storage of sites and pending authorizations.
///
/// Semantics every backend keeps:
/// - Each mutation is atomic and durable when the call returns: a site whose `insertSite` returned survives
///   `kill -9` of the daemon and a restart.
/// - `insertSite` with an id that exists throws ``StoreError`` of kind `.duplicate` and changes nothing.
/// - `consumePendingAuthorization` removes and returns the pending authorization in one atomic step, so one
///   `state` is redeemed at most once even under concurrent calls; an expired one is removed and not returned.
/// - Methods are safe to call concurrently from any task; blocking I/O never runs on the Swift cooperative pool.
public protocol SiteStore: Sendable {
    func insertSite(_ site: Site) async throws(StoreError)
    /// Replaces the stored site with the same id; returns false when there is none.
    func updateSite(_ site: Site) async throws(StoreError) -> Bool
    func site(id: String) async throws(StoreError) -> Site?
    /// Deletes the site and its pending authorizations; returns false when there was none.
    func deleteSite(id: String) async throws(StoreError) -> Bool
    func allSites() async throws(StoreError) -> [Site]

    func insertPendingAuthorization(_ pending: PendingAuthorization) async throws(StoreError)
    /// Atomically removes and returns the pending authorization for `state` when it belongs to site `siteID` and has
    /// not expired at `now`. Returns nil for an unknown, expired or already consumed state; a state of another site
    /// is left untouched (so a forged request cannot burn another site's login) and nil is returned.
    func consumePendingAuthorization(state: String, siteID: String, now: Date) async throws(StoreError)
        -> PendingAuthorization?
    /// Removes pending authorizations and token bindings that expired before `now`; returns how many went.
    func purgeExpired(now: Date) async throws(StoreError) -> Int

    func insertTokenBinding(_ binding: TokenBinding) async throws(StoreError)
    func tokenBinding(accessTokenHash: String, now: Date) async throws(StoreError) -> TokenBinding?

    /// Flushes and closes the store; later calls throw.
    func close() async
}
