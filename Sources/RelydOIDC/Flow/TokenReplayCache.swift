#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `jti` values of accepted logout tokens, per issuer, so that a captured token cannot end a session twice or
/// be replayed to probe the app (Back-Channel Logout 1.0 section 2.6, step 8).
///
/// An entry is kept until its token would be refused anyway (``ValidatedLogoutToken/acceptableUntil``), so
/// forgetting it then opens no replay. The cache holds at most `capacity` entries: when full, expired entries go
/// first, then the one closest to expiry. Only tokens that passed every signature and claim check are recorded, so
/// filling it takes that many tokens the OP itself signed within their lifetime.
public actor TokenReplayCache {
    private struct Key: Hashable {
        var issuer: String
        var tokenID: String
    }

    private let capacity: Int
    private var entries: [Key: Date] = [:]

    public init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    /// Records `tokenID` of `issuer` until `until`. Returns false when it is already recorded and not yet expired:
    /// the token is a replay.
    public func record(issuer: String, tokenID: String, until: Date, now: Date) -> Bool {
        let key = Key(issuer: issuer, tokenID: tokenID)
        if let expiry = entries[key], expiry >= now { return false }
        if entries.count >= capacity { evict(now: now) }
        entries[key] = until
        return true
    }

    /// How many entries are held, for tests of the bound.
    public var count: Int { entries.count }

    private func evict(now: Date) {
        entries = entries.filter { $0.value >= now }
        if entries.count >= capacity, let soonest = entries.min(by: { $0.value < $1.value }) {
            entries[soonest.key] = nil
        }
    }
}
