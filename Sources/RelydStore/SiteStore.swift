#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why the store failed. The detail is for the log; callers answer `internal_error`, or `store_unavailable` for
/// `.unavailable`.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A site with this id (or a pending authorization with this state) already exists.
        case duplicate
        /// The database could not be opened, read or written.
        case io
        /// The state directory or a database file has an unsafe owner or mode.
        case unsafePermissions
        /// The database holds a schema this relyd does not know.
        case schema
        /// The database server cannot be reached or dropped the connection. Nothing of this call was committed
        /// unless the server committed it before the connection broke; a retry is safe for every operation but
        /// `consumePendingAuthorization`, whose state may then be gone. The store reconnects on a later call.
        case unavailable
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
/// - A pending authorization or token binding is live while `now < expiresAt` and expired from `expiresAt` on.
/// - Inserting a pending authorization or token binding for a site that does not exist throws `.io`.
/// - After `close()`, every call throws `.io`.
/// - Methods are safe to call concurrently from any task. Work that may block for long (an fsync, a network round
///   trip, a whole-table read) never runs on the caller's thread, which may be an event loop serving other
///   connections; a backend may run a brief step (one row, no fsync) there when that is cheaper than two hand-offs.
public protocol SiteStore: Sendable {
    func insertSite(_ site: Site) async throws(StoreError)
    /// Replaces the stored site with the same id; returns false when there is none.
    func updateSite(_ site: Site) async throws(StoreError) -> Bool
    func site(id: String) async throws(StoreError) -> Site?
    /// Deletes the site, its pending authorizations and its token bindings; returns false when there was none.
    func deleteSite(id: String) async throws(StoreError) -> Bool
    /// Every site, ordered by id.
    func allSites() async throws(StoreError) -> [Site]

    /// Throws `.duplicate` when a pending authorization with the same state exists.
    func insertPendingAuthorization(_ pending: PendingAuthorization) async throws(StoreError)
    /// Atomically removes and returns the pending authorization for `state` when it belongs to site `siteID` and has
    /// not expired at `now`. Returns nil for an unknown, expired or already consumed state; a state of another site
    /// is left untouched (so a forged request cannot burn another site's login) and nil is returned.
    func consumePendingAuthorization(state: String, siteID: String, now: Date) async throws(StoreError)
        -> PendingAuthorization?
    /// Removes pending authorizations and token bindings that expired before `now`; returns how many went.
    func purgeExpired(now: Date) async throws(StoreError) -> Int

    /// Stores the binding, replacing one with the same access token hash.
    func insertTokenBinding(_ binding: TokenBinding) async throws(StoreError)
    /// Stores the bindings (a later one replaces an earlier one with the same hash): an access token's and its
    /// refresh token's, in one write where the backend can.
    func insertTokenBindings(_ bindings: [TokenBinding]) async throws(StoreError)
    /// The binding for the hash, or nil when there is none or it has expired at `now`.
    func tokenBinding(accessTokenHash: String, now: Date) async throws(StoreError) -> TokenBinding?

    /// Flushes and closes the store; later calls throw.
    func close() async
}

extension SiteStore {
    public func insertTokenBindings(_ bindings: [TokenBinding]) async throws(StoreError) {
        for binding in bindings { try await insertTokenBinding(binding) }
    }
}

/// The expiry rule both backends share: a record is live strictly before its `expiresAt`.
func isLive(_ expiresAt: Date, at now: Date) -> Bool { now < expiresAt }
