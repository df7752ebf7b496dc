/// A value guarded by a `ThreadLock` (a pthread mutex).
///
/// Chosen over `Synchronization.Mutex` on purpose: ThreadSanitizer sees a pthread mutex, but not `Mutex`'s futex
/// (the standard library is not instrumented), so with `Mutex` every `swift test --sanitize=thread` run reports false
/// races and real ones would drown in them.
///
/// `@unchecked Sendable` invariant: `value` is read and written only inside `withLock`, and `Value` is Sendable.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = ThreadLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    @discardableResult
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try lock.withLock { try body(&value) }
    }
}
