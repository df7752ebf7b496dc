#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs one piece of work per key at a time and gives its outcome to every caller that asked while it ran.
///
/// Why: some OP exchanges must not be repeated by concurrent callers. A rotating refresh token is good for one
/// request only; if two requests of the same user refresh it at once, the second is refused and the user is logged
/// out. With a single flight both get the first request's answer. A flight is forgotten when it ends, so a later
/// call runs the work again. The work runs in its own task: a caller that goes away does not cancel it for the
/// others.
public actor SingleFlight<Value: Sendable> {
    private var flights: [String: Task<Value, any Error>] = [:]

    public init() {}

    /// The outcome of `work`, shared with every concurrent caller for `key`.
    public func run(_ key: String, _ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let flight = flights[key] { return try await flight.value }
        let flight = Task { try await work() }
        flights[key] = flight
        defer { flights[key] = nil }
        return try await flight.value
    }
}
