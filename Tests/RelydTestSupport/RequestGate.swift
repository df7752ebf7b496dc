import RelydBasics

/// Holds the requests that reach it (from a ``FakeOP`` override) until the test opens it, and counts them.
///
/// Why: tests of coalescing (single flights, caches) need callers that overlap for certain. A fixed delay at the
/// fake OP only makes overlap likely: on a loaded machine a caller can start after the delay ran out, reach the OP
/// a second time and fail the test although nothing is wrong.
public final class RequestGate: Sendable {
    private struct State {
        var arrivals = 0
        var isOpen = false
        var held: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Locked(State())

    public init() {}

    /// How many requests reached the gate so far.
    public var arrivals: Int { state.withLock { $0.arrivals } }

    /// Counts the request and returns once the gate is open.
    public func pass() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                state.arrivals += 1
                if !state.isOpen { state.held.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
    }

    /// Lets the held requests and every later one through.
    public func open() {
        let held = state.withLock { state in
            state.isOpen = true
            defer { state.held = [] }
            return state.held
        }
        held.forEach { $0.resume() }
    }

    /// Waits until `count` requests arrived or `limit` passed; whether they arrived.
    @discardableResult
    public func waitForArrivals(_ count: Int, atMost limit: Duration) async -> Bool {
        await poll(until: { arrivals >= count }, atMost: limit)
    }

    /// Runs `count` concurrent `call`s whose requests all come to this gate, and returns their results once the
    /// gate opened. The gate opens only after the first call's request arrived and every other call started
    /// meanwhile, so each of them overlaps the first one's request: a coalescing implementation answers them all
    /// from that one request. Without coalescing they all arrive here, which opens the gate at once; with it, the
    /// gate waits `joining` more for the later callers to reach the coalescing point (the only wait on time, and
    /// one that a working implementation needs just a few task switches of).
    public func overlappingCalls<T: Sendable>(_ count: Int, joining: Duration = .seconds(1),
                                              _ call: @escaping @Sendable () async -> T) async -> [T] {
        let setupLimit = Duration.seconds(60)
        return await withTaskGroup(of: T.self) { group in
            group.addTask(operation: call)
            await waitForArrivals(1, atMost: setupLimit)
            let started = Locked(0)
            for _ in 1..<count {
                group.addTask {
                    started.withLock { $0 += 1 }
                    return await call()
                }
            }
            await poll(until: { started.withLock { $0 } == count - 1 }, atMost: setupLimit)
            await waitForArrivals(count, atMost: joining)
            open()
            return await group.reduce(into: [T]()) { $0.append($1) }
        }
    }

    private func poll(until condition: () -> Bool, atMost limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }
}
