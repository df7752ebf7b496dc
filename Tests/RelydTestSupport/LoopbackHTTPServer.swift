import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RelydBasics
import RelydHTTP

/// Serves any `HTTPTransport` (usually a ``FakeOP``) over real HTTP/1.1 on 127.0.0.1, so that the real relyd binary,
/// its libcurl transport included, can be tested against an OP whose every answer a test controls.
///
/// One thread per connection with keep-alive, which is plenty for tests and keeps the OP cheap enough for the
/// benchmark. Each connection's handler runs on that connection's thread, so answers do not wait for the test
/// process's busy cooperative pool. A server that never answers is simulated with ``neverAnswer(path:)``.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public let port: Int
    /// `http://127.0.0.1:<port>`: what to give the OP as its issuer and relyd as op_host.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let listener: Int32
    // Invariant: the properties below are read and written only under `lock`.
    private let lock = NSLock()
    private var connections: Set<Int32> = []
    private var silentPaths: Set<String> = []
    private var stopped = false
    private var acceptedCount = 0

    /// How many connections were accepted so far: tells whether the client kept its connections alive.
    public var acceptedConnections: Int { lock.withLock { acceptedCount } }

    /// Binds 127.0.0.1 on a port the kernel chooses and starts listening; nothing is served before ``start(serving:)``.
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LoopbackHTTPServerError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && listen(fd, 512) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw LoopbackHTTPServerError("bind/listen: errno \(errno)")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { stop() }

    /// Called after each answered request with its path and the seconds from the arrival of its first bytes to the
    /// last byte of the response written: the whole time the request spent in this server, parsing and thread
    /// hand-offs included, which is what a client waited for the OP.
    public typealias ServedObserver = @Sendable (_ path: String, _ seconds: Double) -> Void

    /// Accepts connections on a background thread and answers each request with `handler`'s response, reporting
    /// each answered request to `served`.
    public func start(serving handler: any HTTPTransport, served: ServedObserver? = nil) {
        start(answering: { Self.answer($0, with: handler) }, served: served)
    }

    /// Like ``start(serving:served:)``, but `respond` runs on the connection's own thread and must not wait for the
    /// cooperative pool: an OP that answers in time even while other tests hold every pool thread.
    public func start(answering respond: @escaping @Sendable (HTTPRequest) -> HTTPResponse,
                      served: ServedObserver? = nil) {
        let thread = Thread { [self] in acceptLoop(respond, served) }
        thread.name = "loopback-http-accept"
        thread.start()
    }

    /// Requests for `path` get no answer at all: the connection stays open and silent until the client gives up or
    /// the server stops. This is how a hung OP looks to relyd's timeouts.
    public func neverAnswer(path: String) {
        lock.withLock { _ = silentPaths.insert(path) }
    }

    /// Closes the listener and every open connection. Safe to call more than once.
    public func stop() {
        let open = lock.withLock { () -> Set<Int32>? in
            guard !stopped else { return nil }
            stopped = true
            return connections
        }
        guard let open else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop(_ respond: @escaping @Sendable (HTTPRequest) -> HTTPResponse, _ served: ServedObserver?) {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            let accepted = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                connections.insert(fd)
                acceptedCount += 1
                return true
            }
            guard accepted else {
                close(fd)
                return
            }
            var noDelay: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            let thread = Thread { [self] in
                serve(connection: fd, respond, served)
                lock.withLock { _ = connections.remove(fd) }
                close(fd)
            }
            thread.name = "loopback-http-connection"
            thread.start()
        }
    }

    private func serve(connection fd: Int32, _ respond: (HTTPRequest) -> HTTPResponse, _ served: ServedObserver?) {
        var reader = RequestReader(fd: fd)
        while let parsed = reader.next() {
            let arrival = reader.requestArrival
            let request: HTTPRequest
            switch parsed {
            case .request(let method, let target, let headers, let body):
                guard let method = HTTPRequest.Method(rawValue: method), let url = URL(string: baseURL + target) else {
                    guard write(fd, Self.encode(HTTPResponse(status: 400), keepAlive: false)) else { return }
                    return
                }
                request = HTTPRequest(method: method, url: url, headers: headers, body: body)
            case .malformed:
                _ = write(fd, Self.encode(HTTPResponse(status: 400), keepAlive: false))
                return
            }
            if lock.withLock({ silentPaths.contains(request.url.path) }) {
                // Hold the connection until the peer or stop() closes it.
                var byte: UInt8 = 0
                while recv(fd, &byte, 1, 0) > 0 {}
                return
            }
            let response = respond(request)
            let keepAlive = request.headers.first { $0.0.lowercased() == "connection" }?.1.lowercased() != "close"
            let written = write(fd, Self.encode(response, keepAlive: keepAlive))
            served?(request.url.path, monotonicSeconds() - arrival)
            guard written, keepAlive else { return }
        }
    }

    /// Runs the async handler to completion on this connection's own thread, not on the cooperative pool: the pool
    /// has as many threads as cores, and while the other tests of the process keep them busy (RSA key generation,
    /// hundreds of tests started at once) a handler queued there waited past the client's timeout.
    private static func answer(_ request: HTTPRequest, with handler: any HTTPTransport) -> HTTPResponse {
        let executor = CallingThreadExecutor()
        let outcome = Locked<HTTPResponse?>(nil)
        Task(executorPreference: executor) {
            let response: HTTPResponse
            do {
                response = try await handler.send(request)
            } catch {
                // A transport error from a test handler means "this OP is broken": answer as a broken server would.
                response = HTTPResponse(status: 502)
            }
            outcome.withLock { $0 = response }
            executor.finish()
        }
        executor.runJobs()
        return outcome.withLock { $0 } ?? HTTPResponse(status: 500)
    }

    private static func encode(_ response: HTTPResponse, keepAlive: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(response.status) \(reason(response.status))\r\n"
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key })
        where name != "content-length" && name != "connection" {
            head += "\(name): \(value)\r\n"
        }
        head += "content-length: \(response.body.count)\r\nconnection: \(keepAlive ? "keep-alive" : "close")\r\n\r\n"
        return Array(head.utf8) + Array(response.body)
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 301, 302, 303, 307, 308: "Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        default: "Status"
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }
}

/// Runs the jobs of the tasks that prefer it on the thread that calls ``runJobs()``, until ``finish()``.
private final class CallingThreadExecutor: TaskExecutor, @unchecked Sendable {
    // Invariant: `jobs` and `finished` are read and written only with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    /// Ends ``runJobs()`` once the jobs already enqueued have run.
    func finish() {
        condition.withLock {
            finished = true
            condition.signal()
        }
    }

    func runJobs() {
        while true {
            let next = condition.withLock { () -> UnownedJob? in
                while jobs.isEmpty && !finished { condition.wait() }
                return jobs.isEmpty ? nil : jobs.removeFirst()
            }
            guard let next else { return }
            next.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Reads HTTP/1.1 requests (Content-Length bodies only, which is what libcurl sends) from one connection.
private struct RequestReader {
    enum Parsed {
        case request(method: String, target: String, headers: [(String, String)], body: Data)
        case malformed
    }

    let fd: Int32
    private var buffer: [UInt8] = []
    /// When the first bytes of the request that ``next()`` returned last were received (monotonic seconds).
    private(set) var requestArrival = 0.0
    /// When the oldest bytes now in `buffer` were received.
    private var bufferedSince = 0.0
    /// When the newest bytes now in `buffer` were received.
    private var lastReceived = 0.0
    /// Receives into one reused buffer: a fresh zeroed 64 KiB for each read was a noticeable share of the OP's time.
    private var chunk = [UInt8](repeating: 0, count: 65536)
    private static let headerEnd: [UInt8] = Array("\r\n\r\n".utf8)
    private static let maximumHeaderBytes = 64 * 1024

    init(fd: Int32) { self.fd = fd }

    /// The next request, or nil when the peer closed the connection.
    mutating func next() -> Parsed? {
        var end = Self.find(Self.headerEnd, in: buffer)
        while end == nil {
            guard buffer.count <= Self.maximumHeaderBytes else { return .malformed }
            guard fill() else { return nil }
            end = Self.find(Self.headerEnd, in: buffer)
        }
        requestArrival = bufferedSince
        guard let end, let head = String(bytes: buffer[..<end], encoding: .utf8) else { return .malformed }
        buffer.removeFirst(end + Self.headerEnd.count)
        let lines = head.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3 else { return .malformed }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .malformed }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" }) { return .malformed }
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        guard length >= 0 else { return .malformed }
        while buffer.count < length {
            guard fill() else { return nil }
        }
        let body = Data(buffer[..<length])
        buffer.removeFirst(length)
        // Bytes left over (a pipelined request) came with the last read.
        bufferedSince = lastReceived
        return .request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body)
    }

    private mutating func fill() -> Bool {
        while true {
            let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received < 0 && errno == EINTR { continue }
            guard received > 0 else { return false }
            lastReceived = monotonicSeconds()
            if buffer.isEmpty { bufferedSince = lastReceived }
            buffer.append(contentsOf: chunk[..<received])
            return true
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        }
        return nil
    }
}

/// Seconds on a monotonic clock.
private func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

public struct LoopbackHTTPServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
