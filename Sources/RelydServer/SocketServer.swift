// SocketServer.swift: JSON lines over a Unix domain socket, knowing nothing of commands or OIDC.
//
// DESIGN
// Event-loop threads (`eventLoops`: the daemon's `event_loops`, one by default) each run a level-triggered epoll over
// their connections and an eventfd; the first also watches the listening socket, accepts, applies the connection limits
// (counted across all loops in `SocketServer.connectionCounts`) and hands each admitted connection round-robin to a
// loop's inbox. A loop alone reads, writes and closes its connections' descriptors; its state (`EventLoop`,
// `Connection`) is confined to its thread. Each connection has one Swift Task that answers its request lines strictly
// in order: the loop frames the bytes it reads (`LineFramer`) and hands the frames to the connection's task
// (`ConnectionShared.deliver`, one lock for the whole read); the task takes them in batches and awaits
// `handler.respond` for each one. (An `AsyncStream` per connection did the same with a lock and a buffer operation
// per line, about 8% of a `health` request.) When nothing of the connection is unsent, the task sends the response
// itself with one non-blocking `send` (under the connection's lock, which the loop takes before closing the
// descriptor), and tells the loop only when something is left for it. Otherwise it appends the response to the
// connection's locked outbox and tells the loop. The loop writes outboxes with non-blocking `send`s, asking for
// EPOLLOUT only while bytes remain.
//
// Each loop is also its connections' Swift executor (`LoopInbox` is a `TaskExecutor`; each task is created with its
// loop's inbox as its preference), as swift-nio's event loops are. A request whose handler does not really wait
// (`health`, `stats`, `get_site` with the site cached: nonisolated async code and uncontended default actors run
// on the task's preferred executor) therefore runs start to finish on the loop thread, in the turn that read it,
// and its response leaves with no thread hop and no futex wake-up. Before, each
// request hopped loop thread -> cooperative pool (resuming the task) -> back, and the profile at 64 connections
// spent about half its time in context switches. Jobs enqueued by the loop thread itself go on a plain local list;
// jobs from other threads (a store queue or libcurl's worker resuming a continuation, a timer) go on a locked list
// and wake the loop through the eventfd once per turn. Each turn the loop runs the queued jobs after handling the
// ready descriptors (at most `maxJobsPerTurn`, so I/O is not starved), and polls epoll without blocking while jobs
// remain. After a loop has exited, late jobs (a request that outlived the drain deadline) run on Dispatch's global
// queues, so nothing is stranded.
// Measured on 2 shared cores (relyd-bench sections 1 and 2, relyd's own CPU time divided by the requests served;
// this change together with the response-encoding and parsing work of the same series): `health` went from about
// 20-26 µs to 10 µs per request, and the check_id_token mix (RS256, ES256, EdDSA) from about 110-160 µs to 75-95 µs.
// CPU-heavy work (signature checks, client assertions, key pairs) does not run on the loop: the OIDC engine sends
// it to the `ComputePool` (Dispatch's global queues, about one busy thread per core) and the task resumes on its
// loop with the result (10-12 µs of CPU for the round trip), so a loop busy with one connection's RSA work does not
// hold up its others, and that work spreads over the cores. Cheap requests stay on the loop start to finish.
// One loop by default. On 2 shared cores with the clients on the same host (relyd-bench section 1, 64 connections,
// two alternating pairs of runs with RELYD_BENCH_CONFIG), one loop served 0.70x and 0.68x redis's rate at 4.7 and
// 5.4 µs of CPU per request; two loops 0.61x and 0.60x at 6.1 and 6.2 µs, with p99 latency 1.1 ms against 0.6-0.7
// ms. Two loops each sleep and wake every few requests (3 per epoll_wait, against about 50 for one loop), and on few
// cores those context switches cost more than the second core gains. The check_id_token rates did not differ
// beyond this machine's noise. Several loops remain for hosts with many cores and very high request rates.
// Per request, the path takes the connection's lock three times (the loop's `deliver`, the task's send and its
// wait for the next line; there were seven): the loop skips `service` after a read that handed lines over below the
// pipelining limit with nothing to write, since whatever the task leaves for the loop comes with a dirty mark. It
// reads the clock only through the loop's reading for the turn (`EventLoop.now`, `LoopInbox.turnClock`), and copies
// the line once, from the read buffer into the array the handler gets. A read's lines reach the task as an
// `InputBatch` (one line needs no array), the loop finds a connection by its epoll token in a `ConnectionTable`
// (no hashing), and the task runs `serve` specialised for the handler's type, calling it directly. Measured with
// callgrind (scripts/callgrind-health.sh, relyd's user-space instructions per `health` request at 64
// connections): 24,200 -> 16,400 in session 12, 15,100 -> 8,800 in session 15 with the wire protocol's own work.
// Several loops: the accepting loop stops accepting first when stopping (`acceptingStopped`); the others end once
// that is known and their connections are done, so no handed-over connection is lost. The systemd heartbeat is
// beaten by the accepting loop only while every loop turns (the others wake at least twice per interval).
//
// Level-triggered because interest changes often (backpressure drops EPOLLIN, a full socket adds EPOLLOUT) and a
// level-triggered loop can read one bounded chunk per connection per turn without starving others or losing wake-ups.
//
// Memory is bounded whatever a client sends: the framer holds at most `maxLineBytes`; the loop stops reading a
// connection (drops EPOLLIN) while `maxPipelinedRequestsPerConnection` requests are queued or in flight or while its
// outbox holds more than `maxOutboxBytes`, and reads at most 64 KiB per turn, so at most that many lines plus one
// read's worth are queued. The task does not start the next request while more than `maxOutboxBytes` are unsent,
// so a client that never reads costs at most `maxOutboxBytes` plus one response.

import CLinux
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#endif


/// Answers one request line. The transport calls it once per line, in order per connection, from that connection's
/// task; different connections call it concurrently.
public protocol RequestLineHandler: Sendable {
    /// Returns the full response line, INCLUDING its trailing `"\n"`. Never throws: failures are response lines too.
    /// (The server appends a `"\n"` if one is missing, so a bug here cannot desynchronise the stream.)
    ///
    /// `nonisolated(nonsending)`, as the rest of the request path down to the command handlers: the call runs on the
    /// executor of the connection's task (its event loop) with no executor switch. A plain nonisolated async call
    /// switches to the generic executor and back, and each switch asks the runtime for the task's preferred
    /// executor under the task's status lock: about 2% of a `health` request per call level.
    nonisolated(nonsending) func respond(to line: [UInt8], peer: PeerCredentials) async -> [UInt8]
}

/// Settings of the socket transport.
public struct SocketServerConfiguration: Sendable {
    /// Where the control socket lives. Must be shorter than 108 bytes. If its directory is missing it is created
    /// with mode 0750 (that last component only; its parent must exist). Only for logs when a descriptor is adopted.
    public var socketPath: String
    /// The socket file's mode, set with `chmod` after `bind`. Ignored for an adopted descriptor.
    public var socketMode: mode_t
    /// The socket file's group, set with `chown` after `bind`; nil: the process's. Ignored for an adopted
    /// descriptor. Binding refuses a directory another user could write to (see ``SocketError``).
    public var socketGroup: gid_t?
    /// The longest request line accepted, terminator excluded; a longer one is answered `request_too_large`.
    public var maxLineBytes: Int
    /// Connections open at once; one more is accepted, answered `too_many_connections`, closed and logged.
    /// SIGHUP may change it (``SocketServer/updateLimits(_:)``), as every field of ``ConnectionLimits``.
    public var maxConnections: Int
    /// Connections open at once from one uid; one more is refused as over `maxConnections`.
    public var maxConnectionsPerUID: Int
    /// A connection with no request for this long is sent `idle_timeout` and closed; nil: never.
    public var idleTimeout: Duration?
    /// Requests per second allowed on one connection, on average; nil: unlimited. See ``RequestRate``.
    public var requestRate: RequestRate?
    /// Called from the event-loop thread at least every `interval` while the loop runs, so that the systemd
    /// watchdog learns that the loop itself turns, not merely that the process is alive.
    public var heartbeat: Heartbeat?
    /// Requests queued or in flight per connection before the server stops reading it until it catches up.
    public var maxPipelinedRequestsPerConnection: Int
    /// Unsent response bytes per connection beyond which the server stops reading it and holds back its next
    /// request until the client reads.
    public var maxOutboxBytes: Int
    /// Event-loop threads. Each reads, runs and answers its connections' requests (see the file's DESIGN); the
    /// first also accepts, handing connections out round-robin.
    public var eventLoops = 1
    /// Starts a named thread, false when the system refuses it; tests replace it to see a refusal handled.
    var startThread: @Sendable (String, @escaping @Sendable () -> Void) -> Bool = { name, body in
        BackgroundThread.start(name: name, body)
    }

    public init(
        socketPath: String,
        socketMode: mode_t = 0o660,
        socketGroup: gid_t? = nil,
        maxLineBytes: Int = 65536,
        maxConnections: Int = 1024,
        maxConnectionsPerUID: Int = 1024,
        idleTimeout: Duration? = nil,
        requestRate: RequestRate? = nil,
        heartbeat: Heartbeat? = nil,
        maxPipelinedRequestsPerConnection: Int = 64,
        maxOutboxBytes: Int = 1 << 20
    ) {
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.maxLineBytes = maxLineBytes
        self.maxConnections = maxConnections
        self.maxConnectionsPerUID = maxConnectionsPerUID
        self.idleTimeout = idleTimeout
        self.requestRate = requestRate
        self.heartbeat = heartbeat
        self.maxPipelinedRequestsPerConnection = maxPipelinedRequestsPerConnection
        self.maxOutboxBytes = maxOutboxBytes
    }

    /// The limits as configured at start.
    public var limits: ConnectionLimits {
        ConnectionLimits(maxConnections: maxConnections, maxConnectionsPerUID: maxConnectionsPerUID,
                         idleTimeout: idleTimeout, requestRate: requestRate)
    }
}

/// The connection limits, which SIGHUP may change while the server runs.
public struct ConnectionLimits: Sendable, Equatable {
    public var maxConnections: Int
    public var maxConnectionsPerUID: Int
    public var idleTimeout: Duration?
    public var requestRate: RequestRate?

    public init(maxConnections: Int, maxConnectionsPerUID: Int, idleTimeout: Duration?, requestRate: RequestRate?) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerUID = maxConnectionsPerUID
        self.idleTimeout = idleTimeout
        self.requestRate = requestRate
    }
}

/// A per-connection request rate: `perSecond` on average, with up to `burst` requests at once.
public struct RequestRate: Sendable, Equatable {
    public var perSecond: Int
    public var burst: Int

    public init(perSecond: Int, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }
}

/// A periodic call made by the event loop itself; see ``SocketServerConfiguration/heartbeat``.
public struct Heartbeat: Sendable {
    public var interval: Duration
    public var beat: @Sendable () -> Void

    public init(interval: Duration, beat: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.beat = beat
    }
}

/// A token bucket: a request takes a token; tokens come back at `perSecond` up to `burst`. Pure, so that tests
/// drive it with chosen instants.
struct RequestRateLimiter {
    private var tokens: Double?
    private var updatedAt: ContinuousClock.Instant?

    /// Whether a request arriving at `now` is within `rate`; if so it takes its token.
    mutating func admit(at now: ContinuousClock.Instant, rate: RequestRate) -> Bool {
        let burst = Double(max(1, rate.burst))
        var available = tokens ?? burst
        if let updatedAt {
            let (seconds, attoseconds) = (now - updatedAt).components
            let elapsed = max(0, Double(seconds) + Double(attoseconds) / 1e18)
            available = min(burst, available + elapsed * Double(rate.perSecond))
        }
        updatedAt = now
        guard available >= 1 else {
            tokens = available
            return false
        }
        tokens = available - 1
        return true
    }
}

/// Serves request lines on a Unix domain socket.
///
/// Lifecycle: `init` validates, ``start()`` binds (or takes over an adopted descriptor) and starts the loop thread,
/// ``stop(drainTimeout:)`` stops accepting, lets queued requests finish and responses flush (bounded by the timeout),
/// closes every connection, unlinks the socket file it created and ends the thread.
///
/// Behaviour on the wire:
/// - One response line per request line, in request order per connection. Empty lines are ignored; CRLF is accepted.
/// - A line longer than `maxLineBytes` gets `request_too_large` (`id` null) in its place, and the connection stays
///   usable: the bytes up to the next `"\n"` are discarded.
/// - Over `maxConnections` (or `maxConnectionsPerUID` for the peer's uid), a new connection is accepted, sent one
///   `too_many_connections` line (`id` null) and end of file, and a warning is logged. Its descriptor stays open,
///   unread, for `refusalLinger` (up to `maxLingeringRefusals` of them), so that a client that writes its
///   request before reading does not fail with EPIPE and miss the line. A closed connection whose request is
///   still running counts until that request ends.
/// - A line over the connection's `requestRate` is answered `rate_limited` (`id` null) in its place, without
///   running it; the connection stays usable.
/// - A connection with nothing queued, in flight or unsent for `idleTimeout` is sent one `idle_timeout` line
///   (`id` null) and closed. One whose peer takes no response bytes for `idleTimeout` while some wait is closed
///   without that line (its socket is full, and a line after a partly sent response would garble the stream).
/// - A client that shuts down its write side still gets every response, then the server closes. A client that
///   disconnects with a request in flight: that handler call still finishes and its result is discarded; requests
///   it had queued behind it are dropped unstarted; the descriptor is closed exactly once, at once.
public final class SocketServer: Sendable {
    public let configuration: SocketServerConfiguration
    /// Starts a connection's task, which calls the handler given to `init`.
    let startConnectionTask: @Sendable (ConnectionTaskStart) -> Task<Void, Never>
    let logger: Logger
    /// An inherited listening descriptor (systemd socket activation). Owned by the server from `init` on.
    let adoptedDescriptor: Int32?
    /// One per event loop; the first loop accepts.
    let inboxes: [LoopInbox]
    /// Each loop's counters, merged by ``statistics``; one lock each, since every loop publishes every turn.
    let statisticsState: [Locked<Statistics>]
    /// Connections tracked by all loops, for the connection limits.
    let connectionCounts = Locked(ConnectionCounts())
    /// Set once the accepting loop accepts no more, so that the other loops may end when they have no connection.
    let acceptingStopped = Atomic<Bool>(false)
    /// How many turns each loop has made, so that the accepting loop beats the heartbeat only while all turn.
    let loopTurns: [TurnCounter]
    /// The limits in force; the loop reads them every turn.
    let limitsState: Locked<ConnectionLimits>
    private let lifecycle = Locked(Lifecycle())

    private struct Lifecycle {
        enum Phase { case idle, running, stopping, stopped }
        var phase: Phase = .idle
        var loopExited = false
        var loopsRunning = 0
        var exitWaiters: [CheckedContinuation<Void, Never>] = []

        /// Records that the loop is gone for good and hands back the `stop()` calls waiting for it.
        mutating func markLoopExited() -> [CheckedContinuation<Void, Never>] {
            phase = .stopped
            loopExited = true
            defer { exitWaiters = [] }
            return exitWaiters
        }
    }

    /// A server that will bind `configuration.socketPath` when started.
    ///
    /// - Throws: ``SocketError/pathTooLong(path:byteCount:limit:)`` when the path cannot fit in `sun_path`.
    public init(configuration: SocketServerConfiguration, handler: some RequestLineHandler, logger: Logger) throws {
        try Syscall.validateSocketPath(configuration.socketPath)
        self.configuration = configuration
        self.startConnectionTask = Self.connectionTasks(calling: handler)
        self.logger = logger
        self.adoptedDescriptor = nil
        self.limitsState = Locked(configuration.limits)
        (inboxes, statisticsState, loopTurns) = Self.loopState(count: configuration.eventLoops)
    }

    /// Connection tasks that run `EventLoop.serve` specialised for `Handler`: the task then calls the handler's
    /// `respond` directly. Called through the protocol (an existential handler), each request paid for a witness
    /// thunk's async frame and an executor check after it (about 200 instructions of a `health` request's 9,400).
    private static func connectionTasks<Handler: RequestLineHandler>(
        calling handler: Handler
    ) -> @Sendable (ConnectionTaskStart) -> Task<Void, Never> {
        { start in
            Task(executorPreference: start.inbox) { await EventLoop.serve(start, handler: handler) }
        }
    }

    private static func loopState(count: Int) -> ([LoopInbox], [Locked<Statistics>], [TurnCounter]) {
        let loops = 0..<max(1, count)
        return (loops.map { _ in LoopInbox() }, loops.map { _ in Locked(Statistics()) },
                loops.map { _ in TurnCounter() })
    }

    /// A server that serves an inherited, already-listening Unix stream socket (systemd socket activation).
    ///
    /// The server owns `fd` from now on and closes it in ``stop(drainTimeout:)``; it never chmods or unlinks it.
    /// - Throws: ``SocketError/notAListeningSocket(descriptor:reason:)`` when `fd` is not a listening stream socket.
    public init(
        adoptingListeningDescriptor fd: Int32, configuration: SocketServerConfiguration,
        handler: some RequestLineHandler, logger: Logger
    ) throws {
        try Syscall.adoptListeningSocket(fd)
        self.configuration = configuration
        self.startConnectionTask = Self.connectionTasks(calling: handler)
        self.logger = logger
        self.adoptedDescriptor = fd
        self.limitsState = Locked(configuration.limits)
        (inboxes, statisticsState, loopTurns) = Self.loopState(count: configuration.eventLoops)
    }

    deinit {
        // Started servers hold a reference from their loop thread until it exits, so only an idle one gets here
        // owning an adopted descriptor that nobody else will close.
        if let adoptedDescriptor, lifecycle.withLock({ $0.phase == .idle }) {
            Syscall.close(adoptedDescriptor)
        }
    }

    /// Binds the socket (or takes the adopted one), then starts the event-loop thread.
    ///
    /// - Throws: ``SocketError``: another relyd is listening, a non-socket is in the way, a C call failed, or the
    ///   server was already started. Nothing is left open on failure, and the server may be started again.
    public func start() throws {
        let claimed = lifecycle.withLock { state in
            guard state.phase == .idle else { return false }
            state.phase = .running
            return true
        }
        guard claimed else { throw SocketError.alreadyStarted }

        var listener: Int32 = -1
        var identity: SocketFileIdentity?
        var epfds: [Int32] = []
        var wakeFDs: [Int32] = []
        do {
            if let adoptedDescriptor {
                listener = adoptedDescriptor
            } else {
                let made = try Syscall.makeListeningSocket(
                    path: configuration.socketPath, mode: configuration.socketMode, group: configuration.socketGroup,
                    backlog: 1024)
                listener = made.descriptor
                identity = made.identity
            }
            for index in inboxes.indices {
                let epfd = try Syscall.epollCreate()
                epfds.append(epfd)
                let wakeFD = try Syscall.eventFD()
                wakeFDs.append(wakeFD)
                if index == 0 {
                    try Syscall.epollControl(
                        epfd, .add, listener, events: Syscall.epollIn, token: EventLoop.listenerToken)
                }
                try Syscall.epollControl(epfd, .add, wakeFD, events: Syscall.epollIn, token: EventLoop.wakeToken)
            }
        } catch {
            for epfd in epfds { Syscall.close(epfd) }
            for wakeFD in wakeFDs { Syscall.close(wakeFD) }
            if adoptedDescriptor == nil, listener >= 0 {
                Syscall.close(listener)
                if let identity { Syscall.unlinkIfUnchanged(configuration.socketPath, identity: identity) }
            }
            // A stop() that raced with this start is waiting for a loop that will never run: release it.
            let waiters = lifecycle.withLock { state -> [CheckedContinuation<Void, Never>] in
                guard state.phase == .stopping else {
                    state.phase = .idle
                    return []
                }
                return state.markLoopExited()
            }
            for waiter in waiters { waiter.resume() }
            throw error
        }

        acceptingStopped.store(false, ordering: .releasing)
        lifecycle.withLock { $0.loopsRunning = inboxes.count }
        let loops = inboxes.indices.map { index in
            inboxes[index].attach(wakeFD: wakeFDs[index])
            return EventLoop(server: self, index: index, epfd: epfds[index], wakeFD: wakeFDs[index],
                             listener: index == 0 ? listener : nil, listenerIdentity: identity)
        }
        for loop in loops {
            let name = loop.index == 0 ? "relyd-socket" : "relyd-socket-\(loop.index)"
            if configuration.startThread(name, { loop.run() }) { continue }
            // As if the loop had failed at once: the server stops, so stop() and the daemon learn of it, rather
            // than connections handed to this loop waiting forever.
            logger.error("event loop thread could not start", ("socket.event_loop", String(loop.index)))
            loop.shutDownWithoutRunning()
        }
        logger.info(
            "control socket listening", ("socket.path", configuration.socketPath),
            ("socket.adopted", adoptedDescriptor == nil ? "false" : "true"),
            ("socket.event_loops", String(inboxes.count)))
    }

    /// Stops accepting, lets queued requests finish and their responses flush for at most `drainTimeout`, then
    /// closes every connection, unlinks the socket file the server created and ends the loop thread. Requests
    /// still running at the deadline are cancelled and their results discarded. Safe to call more than once.
    public func stop(drainTimeout: Duration) async {
        enum Action { case none, closeAdopted, wait, signal }
        let action: Action = lifecycle.withLock { state in
            switch state.phase {
            case .idle:
                state.phase = .stopped
                state.loopExited = true
                return .closeAdopted
            case .running:
                state.phase = .stopping
                return .signal
            case .stopping:
                return .wait
            case .stopped:
                return state.loopExited ? .none : .wait
            }
        }
        switch action {
        case .none:
            return
        case .closeAdopted:
            if let adoptedDescriptor { Syscall.close(adoptedDescriptor) }
            return
        case .signal:
            let deadline = ContinuousClock.now + drainTimeout
            for inbox in inboxes { inbox.requestStop(deadline: deadline) }
        case .wait:
            break
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = lifecycle.withLock { state in
                if state.loopExited { return true }
                state.exitWaiters.append(continuation)
                return false
            }
            if exited { continuation.resume() }
        }
    }

    /// The limits in force.
    public var limits: ConnectionLimits { limitsState.withLock { $0 } }

    /// Replaces the limits (SIGHUP). Connections over a lowered connection limit stay open; new ones are refused.
    public func updateLimits(_ limits: ConnectionLimits) {
        limitsState.withLock { $0 = limits }
        for inbox in inboxes { inbox.wake() }
    }

    /// Called once by each loop thread as it ends; the server has stopped when the last one has.
    func loopDidExit() {
        let waiters = lifecycle.withLock { state -> [CheckedContinuation<Void, Never>]? in
            state.loopsRunning -= 1
            return state.loopsRunning == 0 ? state.markLoopExited() : nil
        }
        guard let waiters else { return }
        for waiter in waiters { waiter.resume() }
        logger.info("control socket closed", ("socket.path", configuration.socketPath))
    }

    /// Takes a place for a new connection from `uid` when the limits allow; false when they do not.
    func admitConnection(uid: UInt32, limits: ConnectionLimits) -> (admitted: Bool, total: Int, ofThisUID: Int) {
        connectionCounts.withLock { counts in
            let ofThisUID = counts.perUID[uid, default: 0]
            guard counts.total < limits.maxConnections, ofThisUID < limits.maxConnectionsPerUID else {
                return (false, counts.total, ofThisUID)
            }
            counts.total += 1
            counts.perUID[uid] = ofThisUID + 1
            return (true, counts.total, ofThisUID + 1)
        }
    }

    /// Gives back the place of a connection from `uid` that is no longer tracked.
    func releaseConnection(uid: UInt32) {
        connectionCounts.withLock { counts in
            counts.total -= 1
            counts.perUID[uid, default: 1] -= 1
            if counts.perUID[uid] == 0 { counts.perUID[uid] = nil }
        }
    }

    /// Connections tracked by all loops: open ones, and closed ones whose last request is still running.
    struct ConnectionCounts {
        var total = 0
        var perUID: [UInt32: Int] = [:]
    }

    /// Counters published by the loop thread, for tests and diagnostics.
    struct Statistics: Sendable, Equatable {
        /// Connections whose descriptor is open.
        var openConnections = 0
        /// Connections the loop still tracks: open ones plus closed ones whose task is still finishing.
        var trackedConnections = 0
        /// The most bytes any connection's framer has held for an unfinished line.
        var peakBufferedLineBytes = 0
        /// The most requests any connection has had queued or in flight at once.
        var peakPendingRequests = 0
        /// The most response bytes any connection has had waiting to be sent.
        var peakUnsentBytes = 0
        /// Connections accepted and served since start.
        var acceptedConnections = 0
        /// Connections accepted and closed at once because `maxConnections` (or the per-uid limit) were open.
        var refusedConnections = 0
        /// Request lines answered `rate_limited`.
        var rateLimitedRequests = 0
        /// Connections closed for being idle.
        var idleClosedConnections = 0
    }

    var statistics: Statistics { Statistics(merging: statisticsState.map { $0.withLock { $0 } }) }
}

extension SocketServer.Statistics {
    /// The counters of all loops: sums, and the largest of each peak.
    init(merging loops: [Self]) {
        self.init()
        for loop in loops {
            openConnections += loop.openConnections
            trackedConnections += loop.trackedConnections
            peakBufferedLineBytes = max(peakBufferedLineBytes, loop.peakBufferedLineBytes)
            peakPendingRequests = max(peakPendingRequests, loop.peakPendingRequests)
            peakUnsentBytes = max(peakUnsentBytes, loop.peakUnsentBytes)
            acceptedConnections += loop.acceptedConnections
            refusedConnections += loop.refusedConnections
            rateLimitedRequests += loop.rateLimitedRequests
            idleClosedConnections += loop.idleClosedConnections
        }
    }
}

/// One loop's turn count, read by the accepting loop before each heartbeat.
final class TurnCounter: Sendable {
    let value = Atomic<UInt64>(0)
}

// MARK: - State shared between the loop thread and connection tasks

/// What connection tasks, other threads and `stop` hand the loop: jobs to run, connections with news, a stop.
/// It is also the Swift `TaskExecutor` every connection task prefers, so that the loop thread itself runs those
/// tasks (see the file's DESIGN).
///
/// A job or news from the loop thread goes on a plain local list that the loop works through later in the same
/// turn: no lock, no eventfd. From any other thread (a store queue, libcurl's worker, a timer resuming a
/// continuation) it goes on the locked lists, and writing the eventfd wakes the loop; `wakePending` makes that one
/// write per loop turn however many threads report. Once the loop has exited, jobs run on Dispatch's global
/// queues instead, so a request still running past the drain deadline finishes (its result is discarded).
///
/// `@unchecked Sendable` invariant: `localJobs`, `runningJobs`, `localDirty` and `turnClock` are touched only on the
/// thread whose id `loopThread` holds (the loop's, between `loopDidStart()` and `detach()`); everything else is behind
/// `state` or atomic.
final class LoopInbox: TaskExecutor, @unchecked Sendable {
    private struct State {
        var dirty: [UInt64] = []
        var jobs: [UnownedJob] = []
        /// Connections the accepting loop handed to this one.
        var adoptions: [Adoption] = []
        var wakePending = false
        var stopDeadline: ContinuousClock.Instant?
        /// Nil before start and after the loop closed it, so no task ever writes to a closed (or reused) descriptor.
        var wakeFD: Int32?
    }

    /// An accepted connection, admitted by the limits, for another loop to serve.
    struct Adoption: Sendable {
        var fd: Int32
        var peer: PeerCredentials
    }

    private let state = Locked(State())
    /// `pthread_self()` of the loop thread while it runs; 0 before and after.
    private let loopThread = Atomic<UInt>(0)
    private var localJobs: [UnownedJob] = []
    /// The batch being run; kept to reuse its storage.
    private var runningJobs: [UnownedJob] = []
    private var localDirty: [UInt64] = []
    /// The loop's clock reading for this turn (`EventLoop.now`), so that the tasks it runs need not read the clock.
    var turnClock = ContinuousClock.now

    /// The time for a connection task to record: the loop's reading for this turn when the task runs on the loop
    /// (as it does unless the loop has exited), earlier than the true time by at most the turn's length.
    var now: ContinuousClock.Instant {
        onLoopThread ? turnClock : ContinuousClock.now
    }

    func attach(wakeFD: Int32) {
        state.withLock { state in
            state.wakeFD = wakeFD
            state.wakePending = false
            if state.stopDeadline != nil { Self.wake(&state) }  // stop() raced with start()
        }
    }

    /// Called by the loop thread before it creates any task: from now on its own jobs and news stay local.
    func loopDidStart() {
        loopThread.store(UInt(pthread_self()), ordering: .releasing)
    }

    private var onLoopThread: Bool {
        loopThread.load(ordering: .acquiring) == UInt(pthread_self())
    }

    /// Forgets the eventfd (the caller closes it) and hands every job not yet run, and every later one, to
    /// Dispatch's global queues. Called by the loop thread as it exits; returns the adoptions it will never take,
    /// for the caller to close.
    func detach() -> [Adoption] {
        loopThread.store(0, ordering: .releasing)
        let (remote, adoptions) = state.withLock { state in
            state.wakeFD = nil
            defer {
                state.jobs = []
                state.adoptions = []
            }
            return (state.jobs, state.adoptions)
        }
        let leftover = localJobs + remote
        localJobs = []
        localDirty = []
        for job in leftover { runElsewhere(job) }
        return adoptions
    }

    /// Hands an accepted connection to this loop; false once the loop has exited (the caller keeps it).
    func handOff(_ adoption: Adoption) -> Bool {
        state.withLock { state in
            guard state.wakeFD != nil else { return false }
            state.adoptions.append(adoption)
            Self.wake(&state)
            return true
        }
    }

    /// Whether connections handed to this loop wait to be taken.
    var hasAdoptions: Bool { state.withLock { !$0.adoptions.isEmpty } }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if onLoopThread {
            localJobs.append(job)
            return
        }
        let accepted = state.withLock { state in
            guard state.wakeFD != nil else { return false }
            state.jobs.append(job)
            Self.wake(&state)
            return true
        }
        if !accepted { runElsewhere(job) }
    }

    private func runElsewhere(_ job: UnownedJob) {
        DispatchQueue.global().async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Runs queued jobs, new ones included, until none is left or `limit` have run. Loop thread only.
    func runJobs(limit: Int) {
        var ran = 0
        while ran < limit, !localJobs.isEmpty {
            swap(&localJobs, &runningJobs)
            let executor = asUnownedTaskExecutor()
            for job in runningJobs { job.runSynchronously(on: executor) }
            ran += runningJobs.count
            runningJobs.removeAll(keepingCapacity: true)
        }
    }

    /// Whether jobs wait to run. Loop thread only.
    var hasJobs: Bool { !localJobs.isEmpty }

    /// The connections marked dirty from the loop thread since the last call. Loop thread only.
    func takeLocalDirty() -> [UInt64] {
        defer { localDirty.removeAll(keepingCapacity: true) }
        return localDirty
    }

    func markDirty(_ token: UInt64) {
        if onLoopThread {
            localDirty.append(token)
            return
        }
        state.withLock { state in
            guard state.wakeFD != nil else { return }  // the loop is gone: nobody would take the news
            state.dirty.append(token)
            Self.wake(&state)
        }
    }

    /// Wakes the loop with no news, so that it rereads the server's limits.
    func wake() {
        state.withLock { Self.wake(&$0) }
    }

    func requestStop(deadline: ContinuousClock.Instant) {
        state.withLock { state in
            state.stopDeadline = deadline
            Self.wake(&state)
        }
    }

    /// Takes the news from other threads, queueing their jobs to run this turn. The loop calls it after draining
    /// the eventfd, so news that arrives later wakes it again.
    func take() -> (dirty: [UInt64], adoptions: [Adoption], stopDeadline: ContinuousClock.Instant?) {
        let (dirty, jobs, adoptions, stopDeadline) = state.withLock { state in
            state.wakePending = false
            defer {
                state.dirty = []
                state.jobs = []
                state.adoptions = []
            }
            return (state.dirty, state.jobs, state.adoptions, state.stopDeadline)
        }
        localJobs.append(contentsOf: jobs)
        return (dirty, adoptions, stopDeadline)
    }

    private static func wake(_ state: inout State) {
        guard !state.wakePending, let fd = state.wakeFD else { return }
        state.wakePending = true
        Syscall.signalEventFD(fd)  // under the lock: the loop cannot close the fd meanwhile
    }
}

/// The part of a connection its task and the loop both touch.
final class ConnectionShared: Sendable {
    /// The connection's descriptor, for the task's direct sends; valid while `closed` is false.
    let fd: Int32

    init(fd: Int32) {
        self.fd = fd
    }

    struct State {
        /// Response bytes the task produced and the loop has not yet taken for sending.
        var outbox: [UInt8] = []
        /// Requests yielded to the task and not yet answered (queued or in flight).
        var pending = 0
        /// The descriptor is closed: responses are discarded.
        var closed = false
        /// The task has left its loop; it will touch nothing any more.
        var taskDone = false
        /// Response bytes produced and not yet sent: the outbox plus what the loop holds in its write buffer.
        var unsentBytes = 0
        /// Since when `unsentBytes` has been above zero; nil while it is zero.
        var unsentSince: ContinuousClock.Instant?
        /// The task, waiting for `unsentBytes` to fall to the limit before it answers the next request.
        var drainWaiter: CheckedContinuation<Void, Never>?
        /// When the task last sent a response itself, without waking the loop; the idle timeout counts from here too.
        var answeredDirectlyAt: ContinuousClock.Instant?
        /// What the loop read and the task has not taken yet, in order.
        var inputs = InputBatch()
        /// No more inputs will come: end of file, a stop, or the descriptor is closed.
        var inputsFinished = false
        /// The task, waiting for inputs.
        var inputWaiter: UnsafeContinuation<InputBatch, Never>?
    }

    let state = Locked(State())
    /// `state.closed`, readable without the lock: the task looks before each request, and only an abandoned
    /// connection needs the lock then.
    private let closedFlag = Atomic<Bool>(false)

    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    /// Hands `new` to the task, counting them as pending; returns how many are pending now. Loop only.
    func deliver(_ new: InputBatch) -> Int {
        let (waiter, pending) = state.withLock {
            state -> (UnsafeContinuation<InputBatch, Never>?, Int) in
            state.pending += new.count
            // A waiting task has taken every earlier input: `new` is all it gets, without a copy.
            guard let waiter = state.inputWaiter else {
                state.inputs.append(contentsOf: new)
                return (nil, state.pending)
            }
            state.inputWaiter = nil
            return (waiter, state.pending)
        }
        waiter?.resume(returning: new)
        return pending
    }

    /// No more inputs: the task ends once it has answered those it has. Loop only.
    func finishInputs() {
        let waiter = state.withLock { state in
            state.inputsFinished = true
            defer { state.inputWaiter = nil }
            return state.inputWaiter
        }
        waiter?.resume(returning: InputBatch())
    }

    /// The inputs delivered since the last call, in order, waiting for some; empty when no more will come.
    nonisolated(nonsending) func nextInputs() async -> InputBatch {
        await withUnsafeContinuation { continuation in
            let ready: InputBatch? = state.withLock { state in
                if !state.inputs.isEmpty {
                    defer { state.inputs = InputBatch() }
                    return state.inputs
                }
                if state.inputsFinished { return InputBatch() }
                state.inputWaiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Suspends the task while more than `limit` response bytes are unsent and the connection is open, so a client
    /// that does not read cannot make the server hold more than `limit` plus one response.
    nonisolated(nonsending) func waitForRoom(limit: Int) async {
        guard state.withLock({ !$0.closed && $0.unsentBytes > limit }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state in
                if state.closed || state.unsentBytes <= limit { return true }
                state.drainWaiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// The loop sent `count` bytes; wakes the task if that made room.
    func didSend(_ count: Int, limit: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.unsentBytes -= count
            if state.unsentBytes == 0 { state.unsentSince = nil }
            guard state.unsentBytes <= limit, let waiter = state.drainWaiter else { return nil }
            state.drainWaiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// The descriptor is closed: drop unsent bytes, discard future responses, release a waiting task.
    func markClosed() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            closedFlag.store(true, ordering: .releasing)
            state.outbox = []
            state.unsentBytes = 0
            state.unsentSince = nil
            let waiter = state.drainWaiter
            state.drainWaiter = nil
            return waiter
        }
        waiter?.resume()
    }
}

// MARK: - The event loop (confined to its thread)

/// One connection as the loop sees it. Touched only by the loop thread.
final class Connection {
    /// For the logs (`conn.id`): unique across the server's loops and never reused.
    let id: UInt64
    /// Its key in the loop's ``ConnectionTable``, given to epoll and to the loop's dirty marks.
    let token: UInt64
    let fd: Int32
    let peer: PeerCredentials
    let shared: ConnectionShared
    let logger: Logger
    var task: Task<Void, Never>?
    var framer: LineFramer
    /// Bytes taken from the outbox and being sent; `writeOffset` of them are sent.
    var writeBuffer: [UInt8] = []
    var writeOffset = 0
    /// The epoll events currently registered.
    var interest: UInt32
    /// No more reads: end of file, a stop, or the descriptor is closed. The task's stream is finished.
    var readingStopped = false
    var descriptorOpen = true
    /// When the loop last had something to do for this connection; the idle timeout counts from here.
    var lastActiveAt = ContinuousClock.now
    /// When the loop last sent this peer response bytes. A peer that takes none for the idle timeout while
    /// responses wait (see `ConnectionShared.State.unsentSince`) is closed as idle: it holds an outbox and queued
    /// requests, and reads nothing.
    var lastSendProgressAt = ContinuousClock.now
    var rateLimiter = RequestRateLimiter()

    init(
        id: UInt64, token: UInt64, fd: Int32, peer: PeerCredentials, maxLineBytes: Int, interest: UInt32,
        logger: Logger
    ) {
        self.id = id
        self.token = token
        self.fd = fd
        self.peer = peer
        self.shared = ConnectionShared(fd: fd)
        self.logger = logger
        self.framer = LineFramer(maximumLineLength: maxLineBytes)
        self.interest = interest
    }

    var unsentInWriteBuffer: Int { writeBuffer.count - writeOffset }
}

/// What a connection's task needs from its loop.
struct ConnectionTaskStart: Sendable {
    var shared: ConnectionShared
    var peer: PeerCredentials
    var inbox: LoopInbox
    var token: UInt64
    var maxOutboxBytes: Int
    var maxPipelined: Int
}

/// What the loop hands a connection's task: a request line to answer, or an error to send in its place.
enum ConnectionInput: Sendable {
    case line([UInt8])
    case refusal(RelydError)
}

/// Inputs handed to a connection's task at once, in order. A read usually holds one request line: it is kept apart
/// from the array, which then stays empty, so that the common request costs no array of its own (its allocation,
/// growth and release were about 200 instructions of a `health` request's 9,900).
struct InputBatch: Sequence, Sendable {
    private var first: ConnectionInput?
    private var rest: [ConnectionInput] = []

    var isEmpty: Bool { first == nil }
    var count: Int { first == nil ? 0 : 1 + rest.count }

    mutating func append(_ input: ConnectionInput) {
        if first == nil { first = input } else { rest.append(input) }
    }

    mutating func append(contentsOf other: InputBatch) {
        for input in other { append(input) }
    }

    func makeIterator() -> Iterator { Iterator(first: first, rest: rest.makeIterator()) }

    struct Iterator: IteratorProtocol {
        fileprivate var first: ConnectionInput?
        fileprivate var rest: IndexingIterator<[ConnectionInput]>

        mutating func next() -> ConnectionInput? {
            if let input = first {
                first = nil
                return input
            }
            return rest.next()
        }
    }
}

/// The loop thread's state and code.
///
/// `@unchecked Sendable` invariant: `start()` builds it and hands it to the loop thread's closure; from then on only
/// that thread touches it. Everything shared with other threads goes through `LoopInbox`, `ConnectionShared` and the
/// server's mutexes.
final class EventLoop: @unchecked Sendable {
    static let listenerToken = UInt64.max
    static let wakeToken = UInt64.max - 1
    static let readChunk = 64 * 1024
    static let maxEvents = 256
    static let maxJobsPerTurn = 1024
    static let acceptPause: Duration = .milliseconds(100)
    /// The first idle check after the timeout is set comes no later than this, so that a connection opened just
    /// before a SIGHUP that lowers the timeout does not wait for the old one.
    static let idleCheckLimit: Duration = .seconds(1)
    static let refusalLinger: Duration = .seconds(1)
    /// Refused connections kept open at once; under a storm of them, further ones are closed at once.
    static let maxLingeringRefusals = 64

    let server: SocketServer
    let configuration: SocketServerConfiguration
    /// This loop's place in `server.inboxes`; loop 0 accepts.
    let index: Int
    let inbox: LoopInbox
    let epfd: Int32
    let wakeFD: Int32
    var listener: Int32?
    let listenerIdentity: SocketFileIdentity?
    var connections = ConnectionTable()
    var openConnections = 0
    /// Ids stay unique across loops: loop i gives i + 1, i + 1 + n, i + 1 + 2n…
    var nextID: UInt64
    /// The loop the next accepted connection goes to (loop 0 only).
    var nextLoop = 0
    /// The other loops' turn counts at the last heartbeat (loop 0 only).
    var turnsAtLastBeat: [UInt64]
    var stopDeadline: ContinuousClock.Instant?
    var acceptResumesAt: ContinuousClock.Instant?
    var statistics = SocketServer.Statistics()
    /// The limits in force this turn, read from the server at the start of each.
    var limits: ConnectionLimits
    /// When to look for idle connections next; nil without an idle timeout.
    var idleCheckAt: ContinuousClock.Instant?
    var heartbeatAt: ContinuousClock.Instant?
    /// Refused connections, told so and shut for writing, to close when their linger ends (earliest first).
    var lingeringRefusals: [(fd: Int32, closeAt: ContinuousClock.Instant)] = []
    /// The clock, read at the start of each turn and again when epoll returns: every deadline, activity time and
    /// rate-limit instant of the turn uses this reading. (Read where each was needed, it cost several readings per
    /// request, 1.5% of the loop's time.)
    var now = ContinuousClock.now

    init(server: SocketServer, index: Int, epfd: Int32, wakeFD: Int32, listener: Int32?,
         listenerIdentity: SocketFileIdentity?) {
        self.server = server
        self.configuration = server.configuration
        self.index = index
        self.inbox = server.inboxes[index]
        self.nextID = UInt64(index + 1)
        self.turnsAtLastBeat = Array(repeating: .max, count: server.inboxes.count)  // the first beat is not held
        self.epfd = epfd
        self.wakeFD = wakeFD
        self.listener = listener
        self.listenerIdentity = listenerIdentity
        self.limits = server.limits
    }

    var logger: Logger { server.logger }

    func run() {
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: Self.maxEvents)
        let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readChunk, alignment: 16)
        defer {
            events.deallocate()
            readBuffer.deallocate()
        }
        inbox.loopDidStart()
        while true {
            now = ContinuousClock.now
            if let stopDeadline, (connections.isEmpty && noMoreConnectionsCanCome) || now >= stopDeadline {
                break
            }
            server.loopTurns[index].value.add(1, ordering: .relaxed)
            beatIfDue()
            refreshLimits()
            resumeAcceptingIfDue()
            closeIdleConnectionsIfDue()
            closeLingeringRefusalsIfDue()
            let count: Int
            do {
                // Jobs left over from the last turn: only look for I/O, then run them.
                count = try Syscall.epollWait(
                    epfd, into: events, timeoutMilliseconds: inbox.hasJobs ? 0 : nextTimeout())
            } catch {
                logger.error("event loop failed", ("error", "\(error)"))
                break
            }
            now = ContinuousClock.now
            inbox.turnClock = now
            for index in 0..<count {
                let event = events[index]
                let token = event.data.u64
                switch token {
                case Self.listenerToken: acceptConnections()
                case Self.wakeToken: handleWakeUp()
                default:
                    if let connection = connections[token] {
                        handle(connection, events: event.events, readBuffer: readBuffer)
                    }
                }
            }
            runJobs()
            publishStatistics()
        }
        shutDown()
    }

    /// Loop 0 stops accepting when it stops; another loop may still be handed connections until then.
    private var noMoreConnectionsCanCome: Bool {
        index == 0 || (server.acceptingStopped.load(ordering: .acquiring) && !inbox.hasAdoptions)
    }

    // MARK: Timing

    private func nextTimeout() -> Int32 {
        // Without building an array: this runs every turn.
        var earliest: ContinuousClock.Instant?
        func consider(_ deadline: ContinuousClock.Instant?) {
            if let deadline, earliest.map({ deadline < $0 }) ?? true { earliest = deadline }
        }
        consider(stopDeadline)
        consider(acceptResumesAt)
        consider(idleCheckAt)
        consider(heartbeatAt)
        consider(lingeringRefusals.first?.closeAt)
        guard let earliest else { return -1 }
        let remaining = earliest - now
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1  // round up: never spin
        return Int32(clamping: milliseconds)
    }

    // MARK: Heartbeat, limits and idle connections

    /// Loop 0 beats, and only when every other loop has turned since its last beat, so that the heartbeat still
    /// means that all loops turn. The other loops wake at least twice per interval to show that they do.
    private func beatIfDue() {
        guard let heartbeat = configuration.heartbeat else { return }
        if let heartbeatAt, now < heartbeatAt { return }
        guard index == 0 else {
            heartbeatAt = now + heartbeat.interval / 2
            return
        }
        heartbeatAt = now + heartbeat.interval
        let turns = server.loopTurns.map { $0.value.load(ordering: .relaxed) }
        let allTurned = turns.indices.allSatisfy { $0 == index || turns[$0] != turnsAtLastBeat[$0] }
        turnsAtLastBeat = turns
        if allTurned { heartbeat.beat() }
    }

    private func refreshLimits() {
        let current = server.limits
        guard current != limits else { return }
        if current.idleTimeout != limits.idleTimeout {
            idleCheckAt = current.idleTimeout.map { now + min($0, Self.idleCheckLimit) }
        }
        limits = current
    }

    /// Closes connections that have been idle for the timeout, and schedules the next check at the earliest
    /// moment another one could become idle.
    private func closeIdleConnectionsIfDue() {
        guard let idleTimeout = limits.idleTimeout, stopDeadline == nil else {
            idleCheckAt = nil
            return
        }
        guard let idleCheckAt, now >= idleCheckAt else {
            if self.idleCheckAt == nil { self.idleCheckAt = now + idleTimeout }
            return
        }
        var next = now + idleTimeout
        for connection in connections.all where connection.descriptorOpen {
            let (pending, unsentSince, answeredAt) = connection.shared.state.withLock {
                ($0.pending, $0.unsentSince, $0.answeredDirectlyAt)
            }
            // Busy while it waits for the server; while the peer is the one not reading, the stall counts instead:
            // from when bytes began to wait, or from the peer's last taking of some.
            let stalledAt = unsentSince.map { max($0, connection.lastSendProgressAt) + idleTimeout }
            if pending > 0 || unsentSince != nil { connection.lastActiveAt = now }
            if let answeredAt { connection.lastActiveAt = max(connection.lastActiveAt, answeredAt) }
            let idleAt = stalledAt ?? connection.lastActiveAt + idleTimeout
            if idleAt <= now {
                statistics.idleClosedConnections += 1
                if stalledAt == nil {
                    refuse(connection.fd, RelydError(.idleTimeout, "no request for \(idleTimeout); connection closed"))
                }
                close(connection, reason: stalledAt == nil ? "idle" : "peer takes no responses")
                service(connection)
            } else {
                next = min(next, idleAt)
            }
        }
        self.idleCheckAt = next
    }

    private func closeLingeringRefusalsIfDue() {
        guard !lingeringRefusals.isEmpty else { return }
        while let first = lingeringRefusals.first, first.closeAt <= now || stopDeadline != nil {
            Syscall.close(first.fd)
            lingeringRefusals.removeFirst()
        }
    }

    /// Sends one error line on a connection about to be closed, without waiting: its send buffer is empty, so a
    /// line this small fits, and a client that does not read loses only that line.
    private func refuse(_ fd: Int32, _ error: RelydError) {
        let line = ResponseWriter.failure(id: nil, error)
        _ = try? line.withUnsafeBytes { try Syscall.send(fd, $0) }
    }

    // MARK: Accepting

    private func acceptConnections() {
        guard let listener else { return }
        // The wake-up that announced new limits may come in the same epoll batch as this connection, after it.
        refreshLimits()
        for _ in 0..<64 {  // bounded, so a connection storm cannot starve established connections
            let fd: Int32
            do {
                guard let accepted = try Syscall.accept(listener) else { return }
                fd = accepted
            } catch {
                // EMFILE, ENFILE, ENOBUFS…: the listener stays readable under level triggering, so pause it rather
                // than spin, and retry shortly.
                logger.warning("accept failed; pausing accepts", ("error", "\(error)"))
                pauseAccepting()
                return
            }
            let peer: PeerCredentials
            do {
                peer = try Syscall.peerCredentials(fd)
            } catch {
                Syscall.close(fd)
                logger.warning("connection dropped: no peer credentials", ("error", "\(error)"))
                continue
            }
            // Counts closed connections whose last request is still running too, so a client that connects,
            // queues slow requests and leaves, over and over, cannot pile up unbounded work.
            let admission = server.admitConnection(uid: peer.uid, limits: limits)
            guard admission.admitted else {
                let perUID = admission.total < limits.maxConnections
                refuse(fd, RelydError(.tooManyConnections, perUID
                    ? "uid \(peer.uid) already has \(admission.ofThisUID) connections open, the most allowed"
                    : "the daemon already serves \(admission.total) connections, the most allowed"))
                if lingeringRefusals.count < Self.maxLingeringRefusals {
                    Syscall.shutdownWrite(fd)
                    lingeringRefusals.append((fd, now + Self.refusalLinger))
                } else {
                    Syscall.close(fd)
                }
                statistics.refusedConnections += 1
                logger.warning(
                    "connection refused: too many connections", ("peer.uid", "\(peer.uid)"),
                    ("peer.pid", "\(peer.pid)"),
                    perUID ? ("conn.max_per_uid", "\(limits.maxConnectionsPerUID)")
                           : ("conn.max", "\(limits.maxConnections)"))
                continue
            }
            let adoption = LoopInbox.Adoption(fd: fd, peer: peer)
            let target = nextLoop
            nextLoop = (nextLoop + 1) % server.inboxes.count
            if target == index || !server.inboxes[target].handOff(adoption) { adopt(adoption) }
        }
    }

    /// Starts serving a connection the limits admitted: registers it and starts its task, on this loop.
    private func adopt(_ adoption: LoopInbox.Adoption) {
        let (fd, peer) = (adoption.fd, adoption.peer)
        let id = nextID
        nextID += UInt64(server.inboxes.count)
        let connectionLogger = logger.with(
            ("conn.id", "\(id)"), ("peer.uid", "\(peer.uid)"), ("peer.pid", "\(peer.pid)"))
        let connection = connections.add { token in
            Connection(
                id: id, token: token, fd: fd, peer: peer, maxLineBytes: configuration.maxLineBytes,
                interest: Syscall.epollIn, logger: connectionLogger)
        }
        do {
            try Syscall.epollControl(epfd, .add, fd, events: Syscall.epollIn, token: connection.token)
        } catch {
            connections.remove(token: connection.token)
            Syscall.close(fd)
            server.releaseConnection(uid: peer.uid)
            logger.warning("connection dropped: epoll registration failed", ("error", "\(error)"))
            return
        }
        openConnections += 1
        statistics.acceptedConnections += 1
        connection.task = server.startConnectionTask(ConnectionTaskStart(
            shared: connection.shared, peer: peer, inbox: inbox, token: connection.token,
            maxOutboxBytes: configuration.maxOutboxBytes,
            maxPipelined: configuration.maxPipelinedRequestsPerConnection))
        connectionLogger.debug("connection accepted")
        if stopDeadline != nil {
            // Accepted before the stop, handed over after it: served like the others, nothing more is read.
            connection.readingStopped = true
            connection.shared.finishInputs()
            service(connection)
        }
    }

    private func pauseAccepting() {
        guard let listener else { return }
        try? Syscall.epollControl(epfd, .modify, listener, events: 0, token: Self.listenerToken)
        acceptResumesAt = now + Self.acceptPause
    }

    private func resumeAcceptingIfDue() {
        guard let resumesAt = acceptResumesAt, now >= resumesAt else { return }
        acceptResumesAt = nil
        guard let listener else { return }
        try? Syscall.epollControl(epfd, .modify, listener, events: Syscall.epollIn, token: Self.listenerToken)
    }

    // MARK: The connection task

    /// Answers one connection's frames in order. Runs as the connection's task, on its loop (the task prefers the
    /// loop's executor); touches only Sendable state.
    nonisolated(nonsending) static func serve<Handler: RequestLineHandler>(
        _ start: ConnectionTaskStart, handler: Handler
    ) async {
        let (shared, peer, inbox, token) = (start.shared, start.peer, start.inbox, start.token)
        let (maxOutboxBytes, maxPipelined) = (start.maxOutboxBytes, start.maxPipelined)
        while true {
            let inputs = await shared.nextInputs()
            if inputs.isEmpty { break }
            for input in inputs {
                // The client is gone: drop requests it queued but that have not started. (The one in flight, if any,
                // was started before and completes; its result is discarded below.)
                if shared.isClosed {
                    shared.state.withLock { $0.pending -= 1 }
                    continue
                }
                var response: [UInt8]
                switch input {
                case .line(let line):
                    response = await handler.respond(to: line, peer: peer)
                case .refusal(let error):
                    response = ResponseWriter.failure(id: nil, error)
                }
                if response.last != UInt8(ascii: "\n") { response.append(UInt8(ascii: "\n")) }
                // Whether there is room for the next response is learnt under the same lock, which the task would
                // otherwise take once more per request.
                let (loopHasNews, full) = shared.state.withLock { state in
                    // At the limit the loop stopped reading this connection; it must hear that there is room again.
                    let pausedReading = state.pending >= maxPipelined
                    state.pending -= 1
                    if state.closed { return (pausedReading, false) }
                    var sent = 0
                    if state.unsentBytes == 0 {
                        // Nothing is queued before this response, so sending it now keeps the order. An error is left
                        // to the loop, which meets it again on its own send and closes the connection.
                        sent = (try? response.withUnsafeBytes { try Syscall.send(shared.fd, $0) }) ?? 0
                        if sent == response.count {
                            state.answeredDirectlyAt = inbox.now
                            return (pausedReading, false)
                        }
                    }
                    state.outbox.append(contentsOf: response[sent...])
                    if state.unsentBytes == 0 { state.unsentSince = inbox.now }
                    state.unsentBytes += response.count - sent
                    return (true, state.unsentBytes > maxOutboxBytes)
                }
                if loopHasNews { inbox.markDirty(token) }
                if full { await shared.waitForRoom(limit: maxOutboxBytes) }
            }
        }
        shared.state.withLock { $0.taskDone = true }
        inbox.markDirty(token)
    }

    // MARK: Connection events

    /// Runs the connection tasks' jobs queued so far, then services the connections they reported on. Bounded, so
    /// that tasks which keep each other busy cannot starve I/O; what is left runs next turn, after a non-blocking
    /// look at the descriptors.
    private func runJobs() {
        inbox.runJobs(limit: Self.maxJobsPerTurn)
        for token in inbox.takeLocalDirty() {
            if let connection = connections[token] { service(connection) }
        }
    }

    private func handleWakeUp() {
        Syscall.drainEventFD(wakeFD)
        let news = inbox.take()
        if let deadline = news.stopDeadline, stopDeadline == nil {
            beginStopping(deadline: deadline)
        }
        for adoption in news.adoptions { adopt(adoption) }
        for token in news.dirty {
            if let connection = connections[token] { service(connection) }
        }
    }

    private func handle(_ connection: Connection, events: UInt32, readBuffer: UnsafeMutableRawBufferPointer) {
        guard connection.descriptorOpen else { return }
        if events & (Syscall.epollErr | Syscall.epollHup) != 0 {
            // Both directions are gone: nothing we write can arrive. Queued requests still run; results are dropped.
            close(connection, reason: "peer hung up")
        } else if events & Syscall.epollIn != 0 {
            // The usual event: a request read and handed to the task, with nothing to write and the interest still
            // right. `service` would find nothing to do then, at the price of the connection's lock; whatever the
            // task leaves for the loop comes with a dirty mark, which services the connection in its turn. The
            // request counts as activity through the task (pending, then answered); bytes of a line not yet
            // complete do not, as the idle timeout is documented ("no request"), so a peer trickling a line that
            // never ends is closed as idle.
            if !read(connection, into: readBuffer), events == Syscall.epollIn, connection.interest == Syscall.epollIn,
               connection.unsentInWriteBuffer == 0
            {
                return
            }
        }
        service(connection)
    }

    /// Reads one chunk and hands its lines to the task. Returns whether `service` may have something to do: false
    /// when the connection is still open and reading and stays below the pipelining limit.
    private func read(_ connection: Connection, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard !connection.readingStopped else { return true }
        let outcome: ReadOutcome
        do {
            outcome = try Syscall.read(connection.fd, into: buffer)
        } catch {
            close(connection, reason: "read failed: \(error)")
            return true
        }
        switch outcome {
        case .bytes(let count):
            var inputs = InputBatch()
            connection.framer.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) { frame in
                inputs.append(input(for: frame, on: connection))
            }
            // Each change to the loop's or the connection's stored state is a dynamic exclusivity check (about 70
            // instructions), where a look is not: the peaks are written only when they rise.
            let buffered = connection.framer.bufferedByteCount
            if buffered > statistics.peakBufferedLineBytes { statistics.peakBufferedLineBytes = buffered }
            guard !inputs.isEmpty else { return false }
            let pending = connection.shared.deliver(inputs)
            if pending > statistics.peakPendingRequests { statistics.peakPendingRequests = pending }
            return pending >= configuration.maxPipelinedRequestsPerConnection
        case .endOfFile:
            // The client closed its write side; it may still read. Answer what was asked, then close.
            connection.readingStopped = true
            connection.shared.finishInputs()
            return true
        case .wouldBlock:
            return false
        }
    }

    /// What the task gets for `frame`: the line, or the refusal that replaces it.
    private func input(for frame: LineFramer.Frame, on connection: Connection) -> ConnectionInput {
        switch frame {
        case .lineTooLong:
            return .refusal(RelydError(.requestTooLarge, "request line exceeds \(configuration.maxLineBytes) bytes"))
        case .line(let line):
            guard let rate = limits.requestRate, !connection.rateLimiter.admit(at: now, rate: rate) else {
                return .line(line)
            }
            statistics.rateLimitedRequests += 1
            connection.logger.debug("request refused: rate limited", ("rate.per_second", "\(rate.perSecond)"))
            return .refusal(RelydError(.rateLimited, "more than \(rate.perSecond) requests per second on this connection"))
        }
    }

    /// Writes what can be written, updates epoll interest, and closes or forgets the connection when it is done.
    ///
    /// One look under the connection's lock serves the common case, in which the task sent its responses itself: it
    /// takes the outbox and reads the counts that decide interest and closing. Only bytes to write cost a second.
    private func service(_ connection: Connection) {
        connection.lastActiveAt = now
        var status = connection.descriptorOpen ? takeOutbox(connection) : ServiceStatus(connection.shared)
        if connection.descriptorOpen, connection.unsentInWriteBuffer > 0 {
            flush(connection)
            status = ServiceStatus(connection.shared)
        }
        if connection.descriptorOpen { updateInterest(connection, status) }
        if connection.descriptorOpen, connection.readingStopped, status.taskDone, status.unsentBytes == 0 {
            close(connection, reason: "finished")
        }
        if !connection.descriptorOpen, status.taskDone, connections.remove(token: connection.token) {
            server.releaseConnection(uid: connection.peer.uid)
        }
    }

    /// What `service` reads of a connection's shared state.
    private struct ServiceStatus {
        var pending: Int
        var unsentBytes: Int
        var taskDone: Bool

        /// `inout`, as `withLock` hands it: taken by value, the whole state was copied (and its arrays retained).
        init(_ state: inout ConnectionShared.State) {
            (pending, unsentBytes, taskDone) = (state.pending, state.unsentBytes, state.taskDone)
        }

        init(_ shared: ConnectionShared) {
            self = shared.state.withLock { Self(&$0) }
        }
    }

    /// Moves the outbox into the write buffer when that is empty, and reads the status, under one lock.
    private func takeOutbox(_ connection: Connection) -> ServiceStatus {
        if connection.unsentInWriteBuffer == 0 {
            connection.writeBuffer.removeAll(keepingCapacity: true)
            connection.writeOffset = 0
            return connection.shared.state.withLock { state in
                swap(&state.outbox, &connection.writeBuffer)
                return ServiceStatus(&state)
            }
        }
        return ServiceStatus(connection.shared)
    }

    private func flush(_ connection: Connection) {
        while true {
            if connection.unsentInWriteBuffer == 0 {
                connection.writeBuffer.removeAll(keepingCapacity: true)
                connection.writeOffset = 0
                connection.shared.state.withLock { swap(&$0.outbox, &connection.writeBuffer) }
                if connection.writeBuffer.isEmpty { return }
            }
            let sent: Int
            do {
                sent = try connection.writeBuffer.withUnsafeBytes { bytes in
                    try Syscall.send(connection.fd, UnsafeRawBufferPointer(rebasing: bytes[connection.writeOffset...]))
                }
            } catch {
                close(connection, reason: "send failed: \(error)")
                return
            }
            if sent == 0 { return }  // the socket is full; EPOLLOUT will tell us when it drains
            connection.lastSendProgressAt = now
            connection.writeOffset += sent
            connection.shared.didSend(sent, limit: configuration.maxOutboxBytes)
        }
    }

    private func updateInterest(_ connection: Connection, _ status: ServiceStatus) {
        let (pending, unsent) = (status.pending, status.unsentBytes)
        statistics.peakUnsentBytes = max(statistics.peakUnsentBytes, unsent)
        var wanted: UInt32 = 0
        if !connection.readingStopped, pending < configuration.maxPipelinedRequestsPerConnection,
            unsent < configuration.maxOutboxBytes
        {
            wanted |= Syscall.epollIn
        }
        if unsent > 0 { wanted |= Syscall.epollOut }
        guard wanted != connection.interest else { return }
        do {
            try Syscall.epollControl(epfd, .modify, connection.fd, events: wanted, token: connection.token)
            connection.interest = wanted
        } catch {
            close(connection, reason: "epoll_ctl failed: \(error)")
        }
    }

    /// Closes the descriptor (exactly once), discards unsent responses and ends the task's stream. The connection
    /// stays tracked until its task is done.
    private func close(_ connection: Connection, reason: String) {
        guard connection.descriptorOpen else { return }
        connection.descriptorOpen = false
        openConnections -= 1
        try? Syscall.epollControl(epfd, .delete, connection.fd, events: 0, token: connection.token)
        // Before the close: a task sends on the descriptor only under the lock and while it is not marked closed.
        connection.shared.markClosed()
        Syscall.close(connection.fd)
        connection.writeBuffer = []
        connection.writeOffset = 0
        connection.readingStopped = true
        connection.shared.finishInputs()
        connection.logger.debug("connection closed", ("reason", reason))
    }

    // MARK: Stopping

    private func beginStopping(deadline: ContinuousClock.Instant) {
        stopDeadline = deadline
        acceptResumesAt = nil
        if let listener {
            try? Syscall.epollControl(epfd, .delete, listener, events: 0, token: Self.listenerToken)
            Syscall.close(listener)
            self.listener = nil
            if let listenerIdentity {
                Syscall.unlinkIfUnchanged(configuration.socketPath, identity: listenerIdentity)
            }
        }
        if index == 0 {
            // The other loops may end once they have no connection: none will be handed to them any more.
            server.acceptingStopped.store(true, ordering: .releasing)
            for other in server.inboxes where other !== inbox { other.wake() }
        }
        for connection in connections.all {
            if connection.descriptorOpen, !connection.readingStopped {
                connection.readingStopped = true
                connection.shared.finishInputs()
            }
            service(connection)
        }
    }

    /// Called by `start()` instead of `run()` when the loop's thread could not be created; nothing ran on it yet, so
    /// the caller's thread owns it.
    func shutDownWithoutRunning() {
        shutDown()
    }

    private func shutDown() {
        if stopDeadline == nil {
            // The loop failed on its own: still release the listener and socket file, and stop the other loops.
            let now = ContinuousClock.now
            beginStopping(deadline: now)
            for other in server.inboxes where other !== inbox { other.requestStop(deadline: now) }
        }
        for connection in connections.all {
            connection.task?.cancel()
            close(connection, reason: "server stopped")
            server.releaseConnection(uid: connection.peer.uid)
        }
        connections.removeAll()
        for refusal in lingeringRefusals { Syscall.close(refusal.fd) }
        lingeringRefusals = []
        publishStatistics()
        for unserved in inbox.detach() {
            Syscall.close(unserved.fd)
            server.releaseConnection(uid: unserved.peer.uid)
        }
        Syscall.close(wakeFD)
        Syscall.close(epfd)
        server.loopDidExit()
    }

    private func publishStatistics() {
        statistics.openConnections = openConnections
        statistics.trackedConnections = connections.count
        let snapshot = statistics
        server.statisticsState[index].withLock { $0 = snapshot }
    }
}
