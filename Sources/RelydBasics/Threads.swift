import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex, for code that must lock and unlock in different scopes (a `Locked` value cannot).
///
/// Used instead of `NSLock`, and by `Locked`, so that the daemon needs only FoundationEssentials: full Foundation
/// loads ICU and about 6 MB of resident pages (issue 7: idle RSS). ThreadSanitizer sees a pthread mutex, which it
/// does not for `Synchronization.Mutex`. The mutex lives in its own allocation because a pthread mutex must not move.
public final class ThreadLock: @unchecked Sendable {
    @usableFromInline let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() {
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable public func lock() { pthread_mutex_lock(mutex) }

    @inlinable public func unlock() { pthread_mutex_unlock(mutex) }

    /// Takes the lock if it is free, without waiting; named as `NSLock`'s, so that either fits the same code.
    public func `try`() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    @inlinable public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A long-lived thread of its own (an event loop, libcurl's worker), started with pthreads rather than Foundation's
/// `Thread` for the same reason as `ThreadLock`.
public enum BackgroundThread {
    /// Starts `body` on a new detached thread named `name` (as `top -H` and `perf` show it; at most 15 bytes count).
    /// Returns false if the system refused the thread.
    @discardableResult
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Context(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let started = pthread_create(&thread, &attributes, { context in
            guard let context else { return nil }
            let started = Unmanaged<Context>.fromOpaque(context).takeRetainedValue()
            _ = pthread_setname_np(pthread_self(), String(started.name.utf8.prefix(15)) ?? "")
            started.body()
            return nil
        }, context)
        if started != 0 { Unmanaged<Context>.fromOpaque(context).release() }
        return started == 0
    }

    private final class Context: @unchecked Sendable {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
