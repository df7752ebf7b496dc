/// A value guarded by a `ThreadLock` (a pthread mutex).
///
/// Chosen over `Synchronization.Mutex` on purpose: ThreadSanitizer sees a pthread mutex, but not `Mutex`'s futex
/// (the standard library is not instrumented), so with `Mutex` every `swift test --sanitize=thread` run reports false
/// races and real ones would drown in them.
///
/// `@inlinable`, so that each caller gets `withLock` specialised for its value and body and inlined: unspecialised, a
/// request on the socket paid for the generic call and the closure context once for each of the several locks it
/// takes. The value lives in an allocation of its own rather than in a stored `var`: the mutex already makes every
/// access exclusive (a nested `withLock` on the same value would deadlock before any access), and a class's stored
/// `var` added the runtime's dynamic exclusivity check, an access-set insertion, to each `withLock` (several per
/// socket request), as swift-nio's locked boxes avoid by keeping their value in a `ManagedBuffer`.
///
/// `@unchecked Sendable` invariant: `storage` is read and written only inside `withLock`, and `Value` is Sendable.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    @usableFromInline let lock = ThreadLock()
    @usableFromInline let storage: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: value)
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    @inlinable @discardableResult
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&storage.pointee)
    }
}
