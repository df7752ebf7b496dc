import Foundation
import Glibc
import RelydBasics
@testable import RelydServer
import RelydTestSupport
import Testing

/// Per-uid connection cap, per-connection request rate, idle timeout, limits changed while serving, and the event
/// loop's heartbeat. Every refusal is an error line with a stable code, and the other clients go on being served.
@Suite(.serialized)
struct ConnectionLimitsTests {
    /// The third connection of one uid gets too_many_connections and is closed; the first two stay served.
    @Test func connectionsOfOneUIDBeyondItsLimit_getTooManyConnections() async throws {
        let fixture = try ServerFixture.start { $0.maxConnectionsPerUID = 2 }
        let (first, second) = (try fixture.client(), try fixture.client())
        let (refusal, closed) = try await offPool {
            _ = try first.send("a\n"); _ = try first.readLine()
            _ = try second.send("b\n"); _ = try second.readLine()
            let third = try fixture.client()
            return (errorCode(try third.readLine()), try third.readsEndOfFile())
        }
        #expect(refusal == "too_many_connections")
        #expect(closed)
        let replies = try await offPool {
            try first.send("still-a\n")
            try second.send("still-b\n")
            return [echoed(try first.readLine()), echoed(try second.readLine())]
        }
        #expect(replies == ["still-a", "still-b"])
        #expect(await eventually { fixture.server.statistics.refusedConnections == 1 })
        await fixture.finish()
    }

    /// A refused client that writes its request only after the refusal still can, and reads the refusal: the
    /// daemon keeps the descriptor open a moment rather than making the client's write fail with EPIPE.
    @Test func refusedClientWritingFirst_stillReadsTooManyConnections() async throws {
        let fixture = try ServerFixture.start { $0.maxConnectionsPerUID = 1 }
        let first = try fixture.client()
        _ = try await offPool { try first.send("a\n"); return try first.readLine() }
        let late = try fixture.client()
        let server = fixture.server
        let refusal = try await offPool {
            // Polled on this thread, with the write right after: the refusal lingers one second, and under the
            // whole suite's load a task polling from the cooperative pool was once resumed too late (EPIPE).
            let deadline = ContinuousClock.now + .seconds(30)
            while server.statistics.refusedConnections < 1, ContinuousClock.now < deadline { usleep(1000) }
            try late.send("written after the refusal\n")
            return errorCode(try late.readLine())
        }
        #expect(server.statistics.refusedConnections == 1)
        #expect(refusal == "too_many_connections")
        await fixture.finish()
    }

    /// Lines beyond the burst are answered rate_limited in their place, in order; the connection stays open and
    /// another connection is served at once.
    @Test func linesBeyondTheRate_getRateLimited_andOtherConnectionsAreServed() async throws {
        let fixture = try ServerFixture.start { $0.requestRate = RequestRate(perSecond: 1, burst: 2) }
        let (fast, other) = (try fixture.client(), try fixture.client())
        let (answers, otherReply) = try await offPool {
            try fast.send("one\ntwo\nthree\n")
            let answers = try (0..<3).map { _ -> String? in
                let line = try fast.readLine()
                return echoed(line) ?? errorCode(line)
            }
            try other.send("calm\n")
            return (answers, echoed(try other.readLine()))
        }
        #expect(answers == ["one", "two", "rate_limited"])
        #expect(otherReply == "calm")
        #expect(await eventually { fixture.server.statistics.rateLimitedRequests == 1 })
        await fixture.finish()
    }

    /// The token bucket: `burst` at once, then one more per 1/rate seconds, never more than `burst` saved up.
    @Test func rateLimiter_allowsTheBurst_thenRefillsAtTheRate() {
        var limiter = RequestRateLimiter()
        let rate = RequestRate(perSecond: 2, burst: 3)
        let start = ContinuousClock.now
        let burst = (0..<4).map { _ in limiter.admit(at: start, rate: rate) }
        #expect(burst == [true, true, true, false])
        let tooSoon = limiter.admit(at: start + .milliseconds(400), rate: rate)
        let refilled = limiter.admit(at: start + .milliseconds(600), rate: rate)
        #expect(!tooSoon)
        #expect(refilled)
        let later = start + .seconds(60)
        let savedUp = (0..<4).map { _ in limiter.admit(at: later, rate: rate) }
        #expect(savedUp == [true, true, true, false])
    }

    /// A silent connection is sent idle_timeout and closed; one that keeps asking stays open.
    @Test func idleConnection_getsIdleTimeout_whileABusyOneStaysOpen() async throws {
        let fixture = try ServerFixture.start { $0.idleTimeout = .seconds(1) }
        let (idle, busy) = (try fixture.client(), try fixture.client())
        let busyReplies = try await offPool {
            try (0..<10).map { index -> String? in
                usleep(200_000)
                try busy.send("tick-\(index)\n")
                return echoed(try busy.readLine())
            }
        }
        #expect(busyReplies == (0..<10).map { "tick-\($0)" })
        let (code, closed) = try await offPool { (errorCode(try idle.readLine()), try idle.readsEndOfFile()) }
        #expect(code == "idle_timeout")
        #expect(closed)
        #expect(fixture.server.statistics.idleClosedConnections >= 1)
        await fixture.finish()
    }

    /// Bytes that never complete a line are not a request: a peer trickling them is closed as idle all the same, as
    /// the protocol documents ("sent no request"), where counting each read as activity kept it open for ever.
    @Test func peerTricklingAPartialLine_isClosedAsIdle() async throws {
        let fixture = try ServerFixture.start { $0.idleTimeout = .seconds(1) }
        let trickler = try fixture.client()
        try await offPool {
            for _ in 0..<15 {
                usleep(200_000)
                guard (try? trickler.send("x")) != nil else { break }  // closed by the server meanwhile
            }
        }
        // Closed while it still trickled (within the 3 s), not once it stopped.
        #expect(fixture.server.statistics.idleClosedConnections >= 1)
        await fixture.finish()
    }

    /// A peer that asks and never reads holds an outbox and queued requests: after the idle timeout without taking
    /// a byte it is closed (without an idle_timeout line, which would follow a partly sent response). A peer that
    /// reads slowly but steadily stays open.
    @Test func peerTakingNoResponses_isClosedAfterTheIdleTimeout() async throws {
        let fixture = try ServerFixture.start {
            $0.idleTimeout = .seconds(1)
            $0.maxOutboxBytes = 64 * 1024
        }
        let stalled = try fixture.client()
        try await offPool { try stalled.send((0..<40).map { "big-\($0)\n" }.joined()) }
        #expect(await eventually(timeout: .seconds(10)) { fixture.server.statistics.idleClosedConnections >= 1 })
        #expect(fixture.server.statistics.openConnections == 0)
        await fixture.finish()
    }

    /// A peer quiet for most of the idle timeout that then asks for a response larger than its socket buffer is
    /// not taken for a stalled one: the stall counts from when the bytes began to wait.
    ///
    /// The request comes 0.6 s before the timeout would close the quiet connection: with 0.2 s, a client thread
    /// scheduled late under the whole suite's load asked too late and was rightly closed as idle.
    @Test func quietPeerAskingForALargeResponse_staysOpen() async throws {
        let fixture = try ServerFixture.start {
            $0.idleTimeout = .seconds(2)
            $0.maxLineBytes = 1 << 20
        }
        let client = try fixture.client()
        let text = "big-" + String(repeating: "x", count: 400_000)
        let reply = try await offPool { () throws -> String? in
            usleep(1_400_000)
            try client.send(text + "\n")
            usleep(1_000_000)  // the idle check comes meanwhile, with the response partly sent
            return echoed(try client.readLine())
        }
        #expect(reply == text + EchoHandler.bigPadding)
        #expect(fixture.server.statistics.idleClosedConnections == 0)
        await fixture.finish()
    }

    /// Limits replaced while serving apply to the next connection.
    @Test func updatedLimits_applyToNewConnections() async throws {
        let fixture = try ServerFixture.start()
        let first = try fixture.client()
        _ = try await offPool { try first.send("a\n"); return try first.readLine() }
        var limits = fixture.server.limits
        limits.maxConnectionsPerUID = 1
        fixture.server.updateLimits(limits)
        let refusal = try await offPool { errorCode(try fixture.client().readLine()) }
        #expect(refusal == "too_many_connections")
        await fixture.finish()
    }

    /// The heartbeat is called repeatedly by the event loop itself: while a beat is held, no request is answered.
    @Test func heartbeat_isCalledByTheEventLoopItself() async throws {
        let beats = Locked(0)
        let held = Locked(false)
        let release = DispatchSemaphore(value: 0)
        let fixture = try ServerFixture.start {
            $0.heartbeat = Heartbeat(interval: .milliseconds(50)) {
                beats.withLock { $0 += 1 }
                if held.withLock({ $0 }) { release.wait() }
            }
        }
        #expect(await eventually { beats.withLock { $0 } >= 3 })
        let client = try LineClient(path: fixture.path, timeoutSeconds: 1)
        held.withLock { $0 = true }
        let heldAt = beats.withLock { $0 }
        #expect(await eventually { beats.withLock { $0 } > heldAt })
        let answeredWhileHeld = try await offPool {
            try client.send("while-held\n")
            return (try? client.readLine()) != nil
        }
        #expect(!answeredWhileHeld)
        held.withLock { $0 = false }
        release.signal()
        let reply = try await offPool { echoed(try client.readLine()) }
        #expect(reply == "while-held")
        await fixture.finish()
    }

    /// With NOTIFY_SOCKET and WATCHDOG_USEC set, the loop sends WATCHDOG=1 after READY=1, and none after STOPPING=1.
    @Test func watchdogKeepAlives_comeFromTheLoop_betweenReadyAndStopping() async throws {
        let receiver = try NotificationReceiver(abstract: true)
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": receiver.address, "WATCHDOG_USEC": "100000"], pid: getpid(),
            logger: .discarding)
        let heartbeat = try #require(notifier.watchdogHeartbeat)
        #expect(heartbeat.interval == .milliseconds(50))
        let fixture = try ServerFixture.start { $0.heartbeat = heartbeat }
        notifier.ready(status: "up")
        // Blocking receives on the test's own task: the loop runs on its own thread, not the cooperative pool.
        let first = receiver.receive()
        #expect(first?.hasPrefix("READY=1") == true)
        let keepAlives = [receiver.receive(), receiver.receive()]
        #expect(keepAlives == ["WATCHDOG=1", "WATCHDOG=1"])
        notifier.stopping(status: "down")
        var stopping: String?
        while let message = receiver.receive() {
            if message.hasPrefix("STOPPING=1") { stopping = message; break }
            #expect(message == "WATCHDOG=1")
        }
        #expect(stopping == "STOPPING=1\nSTATUS=down")
        await fixture.finish()
    }
}

/// The socket file's mode and group, and the refusal of an unsafe directory, when the server binds the socket.
@Suite struct SocketOwnershipTests {
    /// The socket gets the configured mode and one of our own groups.
    @Test func socket_getsTheConfiguredModeAndGroup() async throws {
        var groups = [gid_t](repeating: 0, count: 256)
        let count = getgroups(Int32(groups.count), &groups)
        let group = count > 0 ? groups[Int(count) - 1] : getegid()
        let fixture = try ServerFixture.start {
            $0.socketMode = 0o640
            $0.socketGroup = group
        }
        var status = stat()
        #expect(stat(fixture.path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o640)
        #expect(status.st_gid == group)
        await fixture.finish()
    }

    /// A world-writable directory without the sticky bit is refused before anything is created in it.
    @Test func worldWritableDirectoryWithoutStickyBit_isRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        chmod(directory, 0o777)
        let path = directory + "/relyd.sock"
        let server = try SocketServer(
            configuration: SocketServerConfiguration(socketPath: path), handler: EchoHandler(), logger: .discarding)
        #expect(throws: SocketError.unsafeSocketDirectory(
            path: directory, reason: "is world-writable without the sticky bit")) { try server.start() }
        #expect(!FileManager.default.fileExists(atPath: path))
        chmod(directory, 0o1777)
        try server.start()
    }

    /// Safe: ours or root's, not world-writable unless sticky. Unsafe: world-writable without sticky, or owned by
    /// another non-root user.
    @Test func directoryVerdicts() {
        let us: uid_t = 1000
        #expect(Syscall.unsafeDirectoryReason(mode: S_IFDIR | 0o750, owner: us, ourUID: us) == nil)
        #expect(Syscall.unsafeDirectoryReason(mode: S_IFDIR | 0o755, owner: 0, ourUID: us) == nil)
        #expect(Syscall.unsafeDirectoryReason(mode: S_IFDIR | 0o1777, owner: 0, ourUID: us) == nil)
        #expect(Syscall.unsafeDirectoryReason(mode: S_IFDIR | 0o777, owner: 0, ourUID: us) != nil)
        #expect(Syscall.unsafeDirectoryReason(mode: S_IFDIR | 0o777, owner: us, ourUID: us) != nil)
        #expect(Syscall.unsafeDirectoryReason(mode: S_IFDIR | 0o700, owner: 1001, ourUID: us) != nil)
    }

    /// A group whose entry does not fit the first buffer is still found (ERANGE grows the buffer); an unknown
    /// group is nil. "root" exists on every Linux host; an 8-byte buffer cannot hold its entry.
    @Test func groupLookup_growsItsBufferForALargeEntry() {
        #expect(Syscall.groupID(named: "root", initialBufferSize: 8) == 0)
        #expect(Syscall.groupID(named: "root") == 0)
        #expect(Syscall.groupID(named: "no-such-group-relyd-test") == nil)
    }
}
