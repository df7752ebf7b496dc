import Foundation
import Glibc
import RelydBasics
import RelydProtocol
@testable import RelydServer
import RelydTestSupport
import Testing

/// Collects log events in memory.
final class CollectingLogSink: LogSink {
    private let events = Locked<[LogEvent]>([])
    func write(_ event: LogEvent) { events.withLock { $0.append(event) } }
    var all: [LogEvent] { events.withLock { $0 } }
}

/// A started echo server on a socket in a fresh temporary directory.
struct ServerFixture {
    let directory: String
    let path: String
    let handler: EchoHandler
    let server: SocketServer
    let logs: CollectingLogSink

    static func start(
        _ configure: (inout SocketServerConfiguration) -> Void = { _ in }
    ) throws -> ServerFixture {
        let directory = try makeTemporaryDirectory()
        let path = directory + "/relyd.sock"
        var configuration = SocketServerConfiguration(socketPath: path)
        configure(&configuration)
        let handler = EchoHandler()
        let logs = CollectingLogSink()
        let server = try SocketServer(
            configuration: configuration, handler: handler,
            logger: Logger(sink: logs, minimumLevel: .debug))
        try server.start()
        return ServerFixture(directory: directory, path: path, handler: handler, server: server, logs: logs)
    }

    func client() throws -> LineClient { try LineClient(path: path) }

    func finish() async {
        handler.gate.open()
        await server.stop(drainTimeout: .seconds(10))
        removeTree(directory)
    }
}

// Serialized: the fd-count test needs a quiet process, and a loaded 2-core machine is happier one server at a time.
@Suite(.serialized)
struct SocketServerTests {
    /// A request line comes back as its echo, and the handler sees the client's real pid and uid.
    @Test func roundTrip_echoesTheLineWithPeerCredentials() async throws {
        let fixture = try ServerFixture.start()
        defer { removeTree(fixture.directory) }
        let line = try await offPool {
            let client = try fixture.client()
            try client.send("hello\n")
            return try client.readLine()
        }
        let reply = try JSONDecoder().decode(EchoHandler.Reply.self, from: Data(line))
        #expect(reply.echo == "hello")
        #expect(reply.pid == getpid())
        #expect(reply.uid == getuid())
        await fixture.finish()
    }

    /// 100 requests written in one send come back complete and in order.
    @Test func pipelinedRequests_comeBackInOrder() async throws {
        let fixture = try ServerFixture.start()
        let replies = try await offPool {
            let client = try fixture.client()
            try client.send((0..<100).map { "req-\($0)\n" }.joined())
            return try (0..<100).map { _ in echoed(try client.readLine()) }
        }
        #expect(replies == (0..<100).map { "req-\($0)" })
        await fixture.finish()
    }

    /// A request drip-fed one byte per send is framed as one line.
    @Test func requestSplitAcrossManyWrites_isOneRequest() async throws {
        let fixture = try ServerFixture.start()
        let reply = try await offPool {
            let client = try fixture.client()
            for byte in Array("drip-fed request\n".utf8) {
                try client.send([byte])
                usleep(2000)  // give the server a chance to read each byte on its own; not a timing assertion
            }
            return echoed(try client.readLine())
        }
        #expect(reply == "drip-fed request")
        #expect(fixture.handler.log.started == ["drip-fed request"])
        await fixture.finish()
    }

    /// A CRLF-terminated request is answered without the carriage return.
    @Test func crlfLine_isAcceptedWithoutCarriageReturn() async throws {
        let fixture = try ServerFixture.start()
        let replies = try await offPool {
            let client = try fixture.client()
            try client.send("first\r\nsecond\r\n")
            return [echoed(try client.readLine()), echoed(try client.readLine())]
        }
        #expect(replies == ["first", "second"])
        await fixture.finish()
    }

    /// A 70 KB line gets request_too_large with a null id, and the next request on the same connection works.
    @Test func oversizedLine_getsRequestTooLarge_andConnectionStaysUsable() async throws {
        let fixture = try ServerFixture.start()
        let (first, second) = try await offPool {
            let client = try fixture.client()
            try client.send(String(repeating: "x", count: 70_000) + "\n" + "after\n")
            return (try client.readLine(), try client.readLine())
        }
        #expect(errorCode(first) == ErrorCode.requestTooLarge.rawValue)
        #expect(hasNullID(first))
        #expect(echoed(second) == "after")
        #expect(fixture.handler.log.started == ["after"])
        await fixture.finish()
    }

    /// 200 concurrent clients doing 20 sequential requests each all get their own answers.
    @Test func manyConcurrentClients_allSucceed() async throws {
        let fixture = try ServerFixture.start()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for clientIndex in 0..<200 {
                group.addTask {
                    try await offPool {
                        let client = try fixture.client()
                        for request in 0..<20 {
                            try client.send("c\(clientIndex)-r\(request)\n")
                            guard echoed(try client.readLine()) == "c\(clientIndex)-r\(request)" else { return false }
                        }
                        return true
                    }
                }
            }
            var results: [Bool] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0 })
        #expect(await eventually { fixture.server.statistics.acceptedConnections == 200 })
        await fixture.finish()
    }

    /// A request blocked on one connection does not hold up a request on another connection.
    @Test func blockedRequest_doesNotDelayAnotherConnection() async throws {
        let fixture = try ServerFixture.start()
        let blocked = try fixture.client()
        try await offPool { try blocked.send("block-a\n") }
        #expect(await eventually { fixture.handler.log.started.contains("block-a") })

        let fast = try await offPool {
            let client = try fixture.client()
            try client.send("fast\n")
            return echoed(try client.readLine())
        }
        #expect(fast == "fast")
        #expect(!fixture.handler.log.finished.contains("block-a"))  // the fast one really overtook it

        fixture.handler.gate.open()
        let slow = try await offPool { echoed(try blocked.readLine()) }
        #expect(slow == "block-a")
        await fixture.finish()
    }

    /// A client that disconnects mid-request disturbs nobody, its handler call completes, and its fd is closed.
    @Test func clientDisconnectingMidRequest_isCleanedUp() async throws {
        let fixture = try ServerFixture.start()
        let baseline = acceptedConnectionCount(listeningAt: fixture.path)

        let leaving = try fixture.client()
        try await offPool { try leaving.send("block-leaving\nqueued-after\n") }
        #expect(await eventually { fixture.handler.log.started.contains("block-leaving") })
        // eventually: /proc/net/unix is read in chunks, and a line can be missed while other tests' sockets come and go.
        #expect(await eventually { acceptedConnectionCount(listeningAt: fixture.path) == baseline + 1 })
        leaving.close()

        let other = try await offPool {
            let client = try fixture.client()
            try client.send("still-fine\n")
            return echoed(try client.readLine())
        }
        #expect(other == "still-fine")

        fixture.handler.gate.open()
        #expect(await eventually { fixture.handler.log.finished.contains("block-leaving") })
        #expect(await eventually { fixture.server.statistics.trackedConnections == 0 })
        #expect(await eventually { acceptedConnectionCount(listeningAt: fixture.path) == baseline })
        #expect(fixture.server.statistics.openConnections == 0)
        #expect(!fixture.handler.log.started.contains("queued-after"))  // queued behind a vanished client: dropped
        await fixture.finish()
    }

    /// A client that shuts down its write side still receives every answer before the server closes.
    @Test func halfClosedClient_getsAllResponsesThenEndOfFile() async throws {
        let fixture = try ServerFixture.start()
        let (replies, endOfFile) = try await offPool {
            let client = try fixture.client()
            try client.send("slow-one\ntwo\n")
            client.shutdownWrite()
            let replies = [echoed(try client.readLine()), echoed(try client.readLine())]
            return (replies, try client.readsEndOfFile())
        }
        #expect(replies == ["slow-one", "two"])
        #expect(endOfFile)
        await fixture.finish()
    }

    /// The socket file is a socket with mode 0660 by default.
    @Test func socketFile_hasMode0660ByDefault() async throws {
        let fixture = try ServerFixture.start()
        let mode = try #require(fileMode(fixture.path))
        #expect(mode & S_IFMT == S_IFSOCK)
        #expect(mode & 0o7777 == 0o660)
        await fixture.finish()
    }

    /// A configured mode is applied exactly, whatever the process umask.
    @Test func socketFile_getsTheConfiguredMode() async throws {
        let fixture = try ServerFixture.start { $0.socketMode = 0o600 }
        #expect(fileMode(fixture.path).map { $0 & 0o7777 } == 0o600)
        await fixture.finish()
    }

    /// A second server on a path where a server is live refuses to start and leaves the first one working.
    @Test func secondServerOnLivePath_isRefused() async throws {
        let fixture = try ServerFixture.start()
        let second = try SocketServer(
            configuration: SocketServerConfiguration(socketPath: fixture.path), handler: EchoHandler(),
            logger: .discarding)
        #expect(throws: SocketError.anotherInstanceListening(path: fixture.path)) { try second.start() }
        #expect(fileExists(fixture.path))
        let reply = try await offPool {
            let client = try fixture.client()
            try client.send("first-still-serves\n")
            return echoed(try client.readLine())
        }
        #expect(reply == "first-still-serves")
        await second.stop(drainTimeout: .seconds(1))
        await fixture.finish()
    }

    /// A stale socket file left by a dead process is replaced and the new server serves.
    @Test func staleSocketFile_isReplaced() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let path = directory + "/relyd.sock"
        try makeStaleSocketFile(at: path)
        let handler = EchoHandler()
        let server = try SocketServer(
            configuration: SocketServerConfiguration(socketPath: path), handler: handler, logger: .discarding)
        try server.start()
        let reply = try await offPool {
            let client = try LineClient(path: path)
            try client.send("on-fresh-socket\n")
            return echoed(try client.readLine())
        }
        #expect(reply == "on-fresh-socket")
        await server.stop(drainTimeout: .seconds(5))
        #expect(!fileExists(path))
    }

    /// A regular file at the socket path is refused and left untouched.
    @Test func regularFileAtPath_isRefused() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let path = directory + "/relyd.sock"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: path))
        let server = try SocketServer(
            configuration: SocketServerConfiguration(socketPath: path), handler: EchoHandler(), logger: .discarding)
        #expect(throws: SocketError.notASocket(path: path)) { try server.start() }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious")
    }

    /// A socket path that cannot fit in sun_path is rejected when the server is made.
    @Test func tooLongPath_isRejected() throws {
        let path = "/tmp/" + String(repeating: "p", count: 120)
        #expect(throws: SocketError.pathTooLong(path: path, byteCount: 125, limit: 108)) {
            _ = try SocketServer(
                configuration: SocketServerConfiguration(socketPath: path), handler: EchoHandler(),
                logger: .discarding)
        }
    }

    /// A missing socket directory is created with mode 0750.
    @Test func missingParentDirectory_isCreatedWithMode0750() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let path = directory + "/run/relyd.sock"
        let server = try SocketServer(
            configuration: SocketServerConfiguration(socketPath: path), handler: EchoHandler(), logger: .discarding)
        try server.start()
        #expect(fileMode(directory + "/run").map { $0 & 0o7777 } == 0o750)
        #expect(fileExists(path))
        await server.stop(drainTimeout: .seconds(5))
    }

    /// stop() lets an in-flight request finish (its response arrives), removes the socket file, refuses new clients.
    @Test func stop_drainsInFlightRequest_andRemovesSocketFile() async throws {
        let fixture = try ServerFixture.start()
        defer { removeTree(fixture.directory) }
        let client = try fixture.client()
        try await offPool { try client.send("block-drain\n") }
        #expect(await eventually { fixture.handler.log.started.contains("block-drain") })

        let stopping = Task { await fixture.server.stop(drainTimeout: .seconds(30)) }
        #expect(await eventually { !fileExists(fixture.path) })  // stopped accepting before draining
        #expect(throws: (any Error).self) { _ = try LineClient(path: fixture.path) }

        fixture.handler.gate.open()
        let reply = try await offPool { echoed(try client.readLine()) }
        #expect(reply == "block-drain")
        await stopping.value
        #expect(try await offPool { try client.readsEndOfFile() })
        #expect(fixture.server.statistics.openConnections == 0)
        #expect(fixture.server.statistics.trackedConnections == 0)
    }

    /// stop() gives up on a request that outlives the drain timeout, and still closes everything.
    @Test func stop_isBoundedByTheDrainTimeout() async throws {
        let fixture = try ServerFixture.start()
        defer { removeTree(fixture.directory) }
        let client = try fixture.client()
        try await offPool { try client.send("block-forever\n") }
        #expect(await eventually { fixture.handler.log.started.contains("block-forever") })
        await fixture.server.stop(drainTimeout: .milliseconds(200))
        #expect(try await offPool { try client.readsEndOfFile() })
        #expect(fixture.server.statistics.openConnections == 0)
        #expect(!fileExists(fixture.path))
        fixture.handler.gate.open()
    }

    /// 10 MB without a newline never makes the server hold more than a line's worth, and it answers
    /// request_too_large once, then serves the next request.
    @Test func tenMegabytesWithoutNewline_staysBounded() async throws {
        let fixture = try ServerFixture.start()
        let (first, second) = try await offPool {
            let client = try fixture.client()
            let chunk = [UInt8](repeating: UInt8(ascii: "z"), count: 1 << 20)
            for _ in 0..<10 { try client.send(chunk) }
            try client.send("\nafter-flood\n")
            return (try client.readLine(), try client.readLine())
        }
        #expect(errorCode(first) == ErrorCode.requestTooLarge.rawValue)
        #expect(echoed(second) == "after-flood")
        #expect(fixture.server.statistics.peakBufferedLineBytes <= fixture.server.configuration.maxLineBytes + 1)
        #expect(fixture.server.statistics.peakBufferedLineBytes > 0)  // the peak is recorded, not only bounded
        await fixture.finish()
    }

    /// With a handler stuck, the server stops reading a pipelining client instead of queueing without bound, and
    /// every request is still answered in order once it resumes.
    @Test func pipelineBackpressure_boundsQueuedRequests() async throws {
        let fixture = try ServerFixture.start { $0.maxPipelinedRequestsPerConnection = 4 }
        let lineLength = 1024
        let count = 2000  // 2 MB: far more than the socket buffers hold
        let lines = (0..<count).map { index -> String in
            let prefix = index == 0 ? "block-\(index)-" : "r-\(index)-"
            return prefix + String(repeating: "q", count: lineLength - prefix.utf8.count - 1) + "\n"
        }
        let client = try fixture.client()
        let writer = Task { try await offPool { try client.send(lines.joined()) } }
        #expect(await eventually { fixture.handler.log.started.count == 1 })
        try await Task.sleep(for: .milliseconds(300))  // let the server read all it is willing to
        let bound = 4 + EventLoop.readChunk / lineLength + 1
        #expect(fixture.server.statistics.peakPendingRequests <= bound)
        #expect(fixture.server.statistics.peakPendingRequests >= 4)  // the peak is recorded, not only bounded
        #expect(fixture.handler.log.started.count == 1)  // strictly in order: nothing overtook the blocked one

        fixture.handler.gate.open()
        let replies = try await offPool { try (0..<count).map { _ in try client.readLine() } }
        try await writer.value
        #expect(replies.map { echoed($0) } == lines.map { String($0.dropLast()) })
        #expect(fixture.server.statistics.peakPendingRequests <= bound)
        await fixture.finish()
    }

    /// A client that does not read its responses pauses its connection with bounded unsent bytes, and still gets
    /// every response, in order, once it reads.
    @Test func unreadResponses_pauseTheConnectionWithBoundedMemory() async throws {
        let limit = 256 * 1024
        let fixture = try ServerFixture.start { $0.maxOutboxBytes = limit }
        let count = 100  // 100 × 64 KiB responses: far more than the limit plus the socket buffers
        let client = try fixture.client()
        try await offPool { try client.send((0..<count).map { "big-\($0)\n" }.joined()) }
        #expect(await eventually { fixture.handler.log.finished.count >= 2 })
        try await Task.sleep(for: .milliseconds(300))  // let the server produce all it is willing to
        #expect(fixture.handler.log.started.count < count)
        let bound = limit + 70_000  // the limit plus one response
        #expect(fixture.server.statistics.peakUnsentBytes <= bound)

        let replies = try await offPool { try (0..<count).map { _ in echoed(try client.readLine()) } }
        #expect(replies == (0..<count).map { "big-\($0)" + EchoHandler.bigPadding })
        #expect(fixture.server.statistics.peakUnsentBytes <= bound)
        await fixture.finish()
    }

    /// Beyond maxConnections a new client gets one too_many_connections line and is closed, and a warning is
    /// logged.
    @Test func connectionsBeyondTheLimit_getTooManyConnections_andAreClosed() async throws {
        let fixture = try ServerFixture.start { $0.maxConnections = 2 }
        let first = try fixture.client()
        let second = try fixture.client()
        for client in [first, second] {
            let reply = try await offPool {
                try client.send("hold\n")
                return echoed(try client.readLine())
            }
            #expect(reply == "hold")
        }
        let (code, refusedSawEndOfFile) = try await offPool {
            let third = try fixture.client()
            return (errorCode(try third.readLine()), try third.readsEndOfFile())
        }
        #expect(code == "too_many_connections")
        #expect(refusedSawEndOfFile)
        // The loop publishes counters and logs after closing, so the client can see the close first: poll.
        #expect(await eventually { fixture.server.statistics.refusedConnections == 1 })
        #expect(await eventually {
            fixture.logs.all.contains { $0.level == .warning && $0.message.contains("too many connections") }
        })
        first.close()
        #expect(await eventually { fixture.server.statistics.trackedConnections == 1 })
        let reply = try await offPool {
            let client = try fixture.client()
            try client.send("room-again\n")
            return echoed(try client.readLine())
        }
        #expect(reply == "room-again")
        await fixture.finish()
    }

    /// Accept and close are logged at debug with the connection id and the peer's uid and pid.
    @Test func acceptAndClose_areLoggedWithPeerFields() async throws {
        let fixture = try ServerFixture.start()
        _ = try await offPool {
            let client = try fixture.client()
            try client.send("log-me\n")
            return try client.readLine()
        }
        #expect(await eventually { fixture.server.statistics.trackedConnections == 0 })
        let events = fixture.logs.all.filter { $0.level == .debug }
        for message in ["connection accepted", "connection closed"] {
            let event = try #require(events.first { $0.message == message })
            let keys = Dictionary(event.fields, uniquingKeysWith: { first, _ in first })
            #expect(keys["conn.id"] != nil)
            #expect(keys["peer.uid"] == "\(getuid())")
            #expect(keys["peer.pid"] == "\(getpid())")
        }
        await fixture.finish()
    }

    /// An adopted listening descriptor is served as is: its mode is not changed and stop() does not unlink it.
    @Test func adoptedDescriptor_isServedWithoutChmodOrUnlink() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let path = directory + "/activated.sock"
        let fd = try makeListeningSocket(at: path, mode: 0o600)
        let server = try SocketServer(
            adoptingListeningDescriptor: fd, configuration: SocketServerConfiguration(socketPath: path),
            handler: EchoHandler(), logger: .discarding)
        try server.start()
        let reply = try await offPool {
            let client = try LineClient(path: path)
            try client.send("activated\n")
            return echoed(try client.readLine())
        }
        #expect(reply == "activated")
        #expect(fileMode(path).map { $0 & 0o7777 } == 0o600)
        await server.stop(drainTimeout: .seconds(5))
        #expect(fileExists(path))
        #expect(fcntl(fd, F_GETFD) == -1)  // the server owned and closed it
    }

    /// start() twice is refused; stop() before start() and stop() twice are harmless.
    @Test func lifecycleMisuse_isHarmless() async throws {
        let fixture = try ServerFixture.start()
        #expect(throws: SocketError.alreadyStarted) { try fixture.server.start() }
        await fixture.server.stop(drainTimeout: .seconds(5))
        await fixture.server.stop(drainTimeout: .seconds(5))
        #expect(throws: SocketError.alreadyStarted) { try fixture.server.start() }
        removeTree(fixture.directory)

        let neverStarted = try SocketServer(
            configuration: SocketServerConfiguration(socketPath: fixture.path), handler: EchoHandler(),
            logger: .discarding)
        await neverStarted.stop(drainTimeout: .seconds(1))
    }

    /// A descriptor that is not a listening Unix stream socket (unbound socket, TCP listener, pipe) is refused.
    @Test func adoptingANonListeningDescriptor_isRefused() throws {
        let unbound = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(unbound) }
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(tcp) }
        #expect(listen(tcp, 1) == 0)  // listens on an ephemeral port
        var pipeEnds: [Int32] = [-1, -1]
        #expect(pipe(&pipeEnds) == 0)
        defer { pipeEnds.forEach { _ = close($0) } }
        for fd in [unbound, tcp, pipeEnds[0]] {
            #expect(throws: SocketError.self) {
                _ = try SocketServer(
                    adoptingListeningDescriptor: fd, configuration: SocketServerConfiguration(socketPath: "/unused"),
                    handler: EchoHandler(), logger: .discarding)
            }
        }
    }
}
