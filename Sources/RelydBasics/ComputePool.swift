import Dispatch

/// Where CPU-heavy work runs: public-key signatures and their checks, key generation.
///
/// Requests run on their connection's event loop (see SocketServer's DESIGN), and one loop serves every connection
/// by default. Such work done there in place would hold up all the other connections for its whole length (an
/// RSA-2048 key pair takes 50-500 ms, a signature check 17-110 µs), and would keep it to one core however many the
/// host has. On Dispatch's global pool it spreads over the cores while the loop goes on reading and answering.
/// The round trip costs 10-12 µs of CPU and a thread wake-up each way, so only work well above that belongs here.
///
/// The pool is first in, first out and shared with Swift's global executor: a long job (a key pair) delays the
/// short ones queued behind it. That is why key pairs are made only for requests that passed every other check.
public enum ComputePool {
    /// Runs `work` on the pool and resumes the caller with its result or error.
    nonisolated(nonsending) public static func run<Value: Sendable>(
        _ work: @escaping @Sendable () throws -> Value
    ) async throws -> Value {
        try await withUnsafeThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result(catching: work)) }
        }
    }
}
