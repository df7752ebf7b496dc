import Dispatch
import Foundation
import Glibc
import RelydBasics
@testable import RelydServer
import RelydTestSupport
import Testing

/// Replies with the threads a request ran on: where it started, and where it went on after a sleep, which
/// another thread (the timer's) resumes.
struct ThreadReportingHandler: RequestLineHandler {
    struct Reply: Codable { var started: UInt; var resumed: UInt }

    func respond(to line: [UInt8], peer: PeerCredentials) async -> [UInt8] {
        let started = UInt(pthread_self())
        try? await Task.sleep(for: .milliseconds(1))
        let resumed = UInt(pthread_self())
        return ((try? Array(JSONEncoder().encode(Reply(started: started, resumed: resumed)))) ?? []) + [0x0A]
    }
}

/// "compute" holds a thread of the ``ComputePool`` until the test signals `release`; any other line is echoed.
struct ComputingHandler: RequestLineHandler {
    let release = DispatchSemaphore(value: 0)
    let computing = Locked(false)

    func respond(to line: [UInt8], peer: PeerCredentials) async -> [UInt8] {
        if line == Array("compute".utf8) {
            _ = try? await ComputePool.run { [computing, release] in
                computing.withLock { $0 = true }
                release.wait()
            }
        }
        return line + [0x0A]
    }
}

/// Connection tasks prefer the event loop as their executor: the loop thread runs them (see SocketServer's DESIGN).
@Suite(.serialized)
struct EventLoopExecutorTests {
    /// A request runs on the loop thread (the one that calls the heartbeat), also after another thread resumed it.
    @Test func requests_runOnTheEventLoopThread() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let loopThread = Locked<UInt?>(nil)
        let path = directory + "/relyd.sock"
        var configuration = SocketServerConfiguration(socketPath: path)
        configuration.heartbeat = Heartbeat(interval: .seconds(60)) {
            loopThread.withLock { $0 = UInt(pthread_self()) }
        }
        let server = try SocketServer(
            configuration: configuration, handler: ThreadReportingHandler(),
            logger: Logger(sink: CollectingLogSink(), minimumLevel: .debug))
        try server.start()
        let replies = try await offPool {
            let client = try LineClient(path: path)
            return try (0..<3).map { _ in
                try client.send("which\n")
                return try JSONDecoder().decode(ThreadReportingHandler.Reply.self, from: Data(client.readLine()))
            }
        }
        let loop = try #require(loopThread.withLock { $0 })
        for reply in replies {
            #expect(reply.started == loop)
            #expect(reply.resumed == loop)
        }
        await server.stop(drainTimeout: .seconds(10))
    }

    /// Work on the ``ComputePool`` leaves the loop free: while one connection's request computes (here: blocks a
    /// pool thread), another connection of the same and only loop is answered. Were the work run in place, the loop
    /// thread would be the one blocked and the second answer would never come.
    @Test func computePoolWork_leavesTheLoopServing() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let path = directory + "/relyd.sock"
        let handler = ComputingHandler()
        let server = try SocketServer(
            configuration: SocketServerConfiguration(socketPath: path), handler: handler,
            logger: Logger(sink: CollectingLogSink(), minimumLevel: .debug))
        try server.start()
        let computing = try await offPool { try LineClient(path: path) }
        try await offPool { try computing.send("compute\n") }
        #expect(await eventually { handler.computing.withLock { $0 } })
        let other: String
        do {
            other = try await offPool {
                let client = try LineClient(path: path, timeoutSeconds: 10)
                try client.send("ping\n")
                return try client.readLineString()
            }
        } catch {
            handler.release.signal()  // else the blocked thread would keep the server from stopping
            throw error
        }
        handler.release.signal()
        #expect(other == "ping")
        #expect(try await offPool { try computing.readLineString() } == "compute")
        await server.stop(drainTimeout: .seconds(10))
    }

    /// A request still running when the loop has exited (drain deadline passed) is not stranded: it finishes on
    /// another thread, its result discarded.
    @Test func requestOutlivingTheLoop_stillFinishes() async throws {
        let fixture = try ServerFixture.start()
        defer { removeTree(fixture.directory) }
        let client = try fixture.client()
        try await offPool { try client.send("block-past-stop\n") }
        #expect(await eventually { fixture.handler.log.started.contains("block-past-stop") })
        await fixture.server.stop(drainTimeout: .milliseconds(100))
        #expect(try await offPool { try client.readsEndOfFile() })
        fixture.handler.gate.open()
        #expect(await eventually { fixture.handler.log.finished.contains("block-past-stop") })
    }

    /// A loop whose thread the system refuses stops the server as a failing loop does, rather than leaving the
    /// connections handed to it waiting: the socket file goes, and stop() returns.
    @Test func loopThreadThatCannotStart_stopsTheServer() async throws {
        let fixture = try ServerFixture.start { configuration in
            configuration.eventLoops = 2
            configuration.startThread = { name, body in
                name == "relyd-socket-1" ? false : BackgroundThread.start(name: name, body)
            }
        }
        #expect(await eventually(timeout: .seconds(10)) { !fileExists(fixture.path) })
        await fixture.finish()
    }

    /// With several loops, connections are handed out round-robin: each loop serves some, all are answered, and
    /// stopping ends every loop with nothing left open.
    @Test func severalLoops_shareTheConnections() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let path = directory + "/relyd.sock"
        var configuration = SocketServerConfiguration(socketPath: path)
        configuration.eventLoops = 2
        let server = try SocketServer(
            configuration: configuration, handler: ThreadReportingHandler(),
            logger: Logger(sink: CollectingLogSink(), minimumLevel: .debug))
        try server.start()
        let replies = try await offPool {
            let clients = try (0..<4).map { _ in try LineClient(path: path) }
            return try clients.map { client in
                try client.send("which\n")
                return try JSONDecoder().decode(ThreadReportingHandler.Reply.self, from: Data(client.readLine()))
            }
        }
        #expect(Set(replies.map(\.started)).count == 2)
        for reply in replies { #expect(reply.started == reply.resumed) }
        await server.stop(drainTimeout: .seconds(10))
        #expect(server.statistics.acceptedConnections == 4)
        #expect(server.statistics.openConnections == 0)
        #expect(server.statistics.trackedConnections == 0)
        #expect(!fileExists(path))
    }

    /// The per-uid limit counts the connections of every loop.
    @Test func severalLoops_shareTheConnectionLimits() async throws {
        let fixture = try ServerFixture.start {
            $0.eventLoops = 3
            $0.maxConnectionsPerUID = 2
        }
        let clients = try (0..<2).map { _ in try fixture.client() }  // kept open until the end
        let answered = try await offPool {
            try clients.map { client in try client.send("a\n"); return echoed(try client.readLine()) }
        }
        #expect(answered == ["a", "a"])
        let refusal = try await offPool { errorCode(try fixture.client().readLine()) }
        #expect(refusal == "too_many_connections")
        await fixture.finish()
        #expect(fixture.server.statistics.trackedConnections == 0)
        withExtendedLifetime(clients) {}
    }

    /// With several loops the heartbeat still beats (the accepting loop beats while all of them turn).
    @Test func severalLoops_keepTheHeartbeat() async throws {
        let beats = Locked(0)
        let fixture = try ServerFixture.start {
            $0.eventLoops = 2
            $0.heartbeat = Heartbeat(interval: .milliseconds(20)) { beats.withLock { $0 += 1 } }
        }
        #expect(await eventually { beats.withLock { $0 } >= 5 })
        await fixture.finish()
    }
}
