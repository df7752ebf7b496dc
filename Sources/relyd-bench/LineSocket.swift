import CLinux
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A connected Unix stream socket, or nil when nothing accepts at `path`.
func connectUnixSocket(_ path: String, nonBlocking: Bool = false) -> Int32? {
    var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
    let fd = socket(AF_UNIX, type, 0)
    guard fd >= 0 else { return nil }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
        close(fd)
        return nil
    }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    // A non-blocking connect on a Unix socket completes at once or fails (EAGAIN: backlog full).
    guard connected == 0 else {
        close(fd)
        return nil
    }
    return fd
}

/// One blocking JSON-lines connection to relyd, for the sequential measurements.
final class RelydConnection {
    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Reused by every read: zeroing a fresh 64 KiB per call would be the client's cost counted as relyd's.
    private var chunk = [UInt8](repeating: 0, count: 65536)
    private var nextID = 0

    init(socketPath: String) throws {
        guard let fd = connectUnixSocket(socketPath) else { throw BenchError("cannot connect to \(socketPath)") }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends one request and returns the `data` of an ok answer; throws with the line for anything else.
    @discardableResult
    func call(_ command: String, _ parameters: [String: Any] = [:]) throws -> [String: Any] {
        nextID += 1
        var request: [String: Any] = ["id": nextID, "command": command]
        if !parameters.isEmpty { request["params"] = parameters }
        let line = try exchange(Array(try JSONSerialization.data(withJSONObject: request)) + [0x0A])
        guard let answer = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
              answer["status"] as? String == "ok", let data = answer["data"] as? [String: Any]
        else { throw BenchError("\(command) failed: \(String(decoding: line, as: UTF8.self))") }
        return data
    }

    /// Writes `request` and reads up to the next newline.
    func exchange(_ request: [UInt8]) throws -> [UInt8] {
        var sent = 0
        while sent < request.count {
            let written = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw BenchError("send failed: errno \(errno)") }
            sent += written
        }
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw BenchError("connection closed (errno \(errno))") }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}

/// What one closed-loop run measured.
struct LoadResult {
    var requests: Int
    var seconds: Double
    /// Per-request latency in seconds, every request.
    var latencies: [Double]
    /// Every answer read, warm-up and drain included: what the server's CPU time over the whole run paid for.
    var answered: Int

    var rate: Double { Double(requests) / seconds }

    /// The results of several runs as one.
    static func combined(_ results: [LoadResult]) -> LoadResult {
        LoadResult(requests: results.reduce(0) { $0 + $1.requests }, seconds: results.reduce(0) { $0 + $1.seconds },
                   latencies: results.flatMap(\.latencies), answered: results.reduce(0) { $0 + $1.answered })
    }
}

/// The load generator both relyd and redis are driven by: one thread, `connections` non-blocking connections on
/// epoll, request-response per connection (each connection writes its next request only after reading the answer
/// to the previous one; no pipelining). An answer is everything up to a newline, which fits both `+PONG\r\n` and a
/// JSON line. Runs for `duration` seconds after a short warm-up that is not counted.
func runClosedLoop(socketPath: String, request: [UInt8], connections: Int, duration: Double) throws -> LoadResult {
    let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
    guard epoll >= 0 else { throw BenchError("epoll_create1: errno \(errno)") }
    defer { close(epoll) }
    var descriptors: [Int32] = []
    defer { descriptors.forEach { close($0) } }
    for _ in 0..<connections {
        guard let fd = connectUnixSocket(socketPath, nonBlocking: true) else {
            throw BenchError("cannot connect to \(socketPath)")
        }
        descriptors.append(fd)
    }
    var sentAt = [Double](repeating: 0, count: connections)
    var latencies: [Double] = []
    latencies.reserveCapacity(1 << 20)

    func sendRequest(_ index: Int) throws {
        let written = request.withUnsafeBytes {
            send(descriptors[index], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
        }
        // A request is tiny and the socket has nothing else outstanding, so the kernel takes all of it at once.
        guard written == request.count else { throw BenchError("short send (\(written)): errno \(errno)") }
    }

    for index in 0..<connections {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64(index)
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, descriptors[index], &event) == 0 else {
            throw BenchError("epoll_ctl: errno \(errno)")
        }
    }
    let warmUp = min(0.3, duration / 4)
    let start = monotonicSeconds()
    let countFrom = start + warmUp
    let end = countFrom + duration
    for index in 0..<connections {
        sentAt[index] = monotonicSeconds()
        try sendRequest(index)
    }
    var events = [epoll_event](repeating: epoll_event(), count: 256)
    var chunk = [UInt8](repeating: 0, count: 65536)
    var open = connections
    var answered = 0
    while open > 0 {
        let ready = epoll_wait(epoll, &events, Int32(events.count), 5000)
        if ready < 0 && errno == EINTR { continue }
        guard ready > 0 else { throw BenchError("no answer for 5 s from \(socketPath)") }
        let now = monotonicSeconds()
        for slot in 0..<Int(ready) {
            let index = Int(events[slot].data.u64)
            let count = chunk.withUnsafeMutableBytes { recv(descriptors[index], $0.baseAddress, $0.count, 0) }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            guard count > 0 else { throw BenchError("\(socketPath) closed a connection (errno \(errno))") }
            // One request is outstanding per connection, so a newline ends its answer. An answer split across
            // reads ends in the read that carries its newline.
            guard chunk[..<count].contains(0x0A) else { continue }
            answered += 1
            if now >= countFrom && sentAt[index] >= countFrom && now < end {
                latencies.append(now - sentAt[index])
            }
            if now < end {
                sentAt[index] = now
                try sendRequest(index)
            } else {
                open -= 1
            }
        }
    }
    return LoadResult(requests: latencies.count, seconds: duration, latencies: latencies, answered: answered)
}

/// Percentile `p` (0...1) of `values`, sorted by the caller's request.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
}

/// p50 and p99 of `values`.
func medianAndTail(_ values: [Double]) -> (p50: Double, p99: Double) {
    let sorted = values.sorted()
    return (percentile(sorted, 0.5), percentile(sorted, 0.99))
}
