import Foundation

/// Runs blocking work (starting processes and waiting for them, libpq round trips, a held socket read) on a thread
/// of its own. Tests run in parallel on a cooperative pool of as many threads as cores (two here): blocking one of
/// them stalls every other test of the process, and curl timeouts and timed assertions elsewhere then fail.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

/// ``offPool(_:)`` for work that cannot fail.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
