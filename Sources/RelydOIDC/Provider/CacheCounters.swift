import RelydBasics
import RelydProtocol

/// Hits and misses of one cache, for `stats`. A hit is a lookup answered without a new call to the OP (a fresh
/// entry, or a fetch already under way that the caller joins); a miss starts a call.
public final class CacheCounters: Sendable {
    private let counts = Locked(Stats.CacheCounts(hits: 0, misses: 0))

    public init() {}

    public func recordHit() { counts.withLock { $0.hits += 1 } }
    public func recordMiss() { counts.withLock { $0.misses += 1 } }

    public var snapshot: Stats.CacheCounts { counts.withLock { $0 } }
}
