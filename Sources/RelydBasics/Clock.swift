#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the engine reads the time. Injected so that tests can move time without sleeping.
public protocol WallClock: Sendable {
    func now() -> Date
}

/// The real time of the machine.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// Where the engine gets unpredictable bytes (state, nonce, PKCE verifier, site ids).
/// Production uses OpenSSL's CSPRNG; tests inject a deterministic source.
public protocol RandomSource: Sendable {
    func bytes(_ count: Int) throws -> [UInt8]
}

/// Where elapsed time is measured (the latency of calls to the OP). Injected so that tests choose the durations.
public protocol MonotonicClock: Sendable {
    func now() -> ContinuousClock.Instant
}

/// The machine's monotonic clock, which wall-clock changes do not move.
public struct SystemMonotonicClock: MonotonicClock {
    public init() {}
    public func now() -> ContinuousClock.Instant { .now }
}
