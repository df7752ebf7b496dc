/// A value guarded by a `ThreadLock` (a pthread mutex).
///
/// Chosen over `Synchronization.Mutex` on purpose: ThreadSanitizer sees a pthread mutex, but not `Mutex`'s futex
/// (the standard library is not instrumented), so with `Mutex` every `swift test --sanitize=thread` run reports false
/// races and real ones would drown in them.
///
/// `@inlinable`, so that each caller gets `withLock` specialised for its value and body and inlined: unspecialised, a
/// request on the socket paid for the generic call and the closure context once for each of the several locks it
/// takes.
///
/// `@unchecked Sendable` invariant: `value` is read and written only inside `withLock`, and `Value` is Sendable.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    @usableFromInline let lock = ThreadLock()
    @usableFromInline var value: Value

    public init(_ value: Value) { self.value = value }

    @inlinable @discardableResult
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
