// Test-side helpers: a blocking line client, an echo handler with a gate, temporary directories, polling and fd
// counting.
//
// The client makes its own syscalls on purpose, so the server's wrappers are not used to test themselves.
// Blocking calls must never run on the cooperative pool (2 threads on a 2-core machine): the server's connection
// tasks run there, and a blocked pool would deadlock the test. `offPool` (RelydTestSupport) gives each blocking job
// its own thread.

import Foundation
import RelydBasics
import Glibc
@testable import RelydServer

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A blocking Unix-socket client that speaks lines. Used from one thread at a time.
final class LineClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var closed = false

    /// Connects to `path`. Reads and writes time out after `timeoutSeconds` so a broken server fails, not hangs.
    init(path: String, timeoutSeconds: Int = 60) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw TestFailure("connect(\(path)): errno \(code)")
        }
        self.fd = fd
    }

    deinit { close() }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                throw TestFailure("send: errno \(errno)")
            }
            offset += sent
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// The next line without its `"\n"`; throws at end of file or timeout.
    func readLine() throws -> [UInt8] {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TestFailure("recv: errno \(errno)")
            }
            if count == 0 { throw TestFailure("end of file") }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    func readLineString() throws -> String { String(decoding: try readLine(), as: UTF8.self) }

    /// True when the server closed the connection with nothing more to read.
    func readsEndOfFile() throws -> Bool {
        var byte: UInt8 = 0
        while true {
            let count = Glibc.recv(fd, &byte, 1, 0)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw TestFailure("recv: errno \(errno)") }
            return count == 0
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Number of open descriptors of this process.
/// How many accepted connections of the listener at `path` this process still holds open.
///
/// Only those sockets are counted: the whole process's descriptor count also moves with whatever suites run
/// concurrently in the same test process (database connections, HTTP transports, spawned helpers).
func acceptedConnectionCount(listeningAt path: String) -> Int {
    // Read to the end by hand: procfs files report size 0, and a reader that trusts the size can stop after the first
    // chunk, missing the sockets listed beyond it when many tests have sockets open.
    let fd = open("/proc/net/unix", O_RDONLY)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        bytes.append(contentsOf: chunk[..<count])
    }
    let table = String(decoding: bytes, as: UTF8.self)
    // Columns: Num RefCount Protocol Flags Type St Inode Path. Accepted sockets carry the listener's path; the
    // listener itself has the __SO_ACCEPTCON flag (00010000).
    let inodes = Set(table.split(separator: "\n").dropFirst().compactMap { line -> Substring? in
        let columns = line.split(separator: " ", omittingEmptySubsequences: true)
        guard columns.count >= 8, columns[7] == path, columns[3] != "00010000" else { return nil }
        return columns[6]
    })
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return descriptors.filter { descriptor in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + descriptor),
              target.hasPrefix("socket:[") else { return false }
        return inodes.contains(target.dropFirst("socket:[".count).dropLast())
    }.count
}

/// A fresh, short temporary directory (socket paths must stay under 108 bytes).
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/relyd-srv-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw TestFailure("mkdtemp: errno \(errno)")
    }
    return String(cString: made)
}

func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// A latch the test opens; handler calls for lines starting with "block" wait on it.
final class Gate: Sendable {
    private let state = Locked<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let proceed = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Records which lines the handler started and finished.
final class HandlerLog: Sendable {
    private let state = Locked<(started: [String], finished: [String])>(([], []))

    func start(_ line: String) { state.withLock { $0.started.append(line) } }
    func finish(_ line: String) { state.withLock { $0.finished.append(line) } }
    var started: [String] { state.withLock { $0.started } }
    var finished: [String] { state.withLock { $0.finished } }
}

/// Echoes each line as `{"echo":…,"pid":…,"uid":…}`. Lines starting with "block" wait for the gate; lines
/// starting with "slow" sleep 200 ms; lines starting with "big" get 64 KiB of padding appended to their echo.
struct EchoHandler: RequestLineHandler {
    static let bigPadding = String(repeating: "b", count: 65536)
    let gate = Gate()
    let log = HandlerLog()

    struct Reply: Codable { var echo: String; var pid: Int32; var uid: UInt32 }

    func respond(to line: [UInt8], peer: PeerCredentials) async -> [UInt8] {
        let text = String(decoding: line, as: UTF8.self)
        log.start(text)
        if text.hasPrefix("block") { await gate.wait() }
        if text.hasPrefix("slow") { try? await Task.sleep(for: .milliseconds(200)) }
        let echo = text.hasPrefix("big") ? text + EchoHandler.bigPadding : text
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var bytes = (try? Array(encoder.encode(Reply(echo: echo, pid: peer.pid, uid: peer.uid)))) ?? []
        bytes.append(UInt8(ascii: "\n"))
        log.finish(text)
        return bytes
    }
}

/// The echoed text of a response line, or nil if it is not an echo.
func echoed(_ line: [UInt8]) -> String? {
    (try? JSONDecoder().decode(EchoHandler.Reply.self, from: Data(line)))?.echo
}

/// The error code of an error response line (`data.error`), or nil if it is not one.
func errorCode(_ line: [UInt8]) -> String? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
        object["status"] as? String == "error", let data = object["data"] as? [String: Any]
    else { return nil }
    return data["error"] as? String
}

/// Whether an error response line carries `"id": null`.
func hasNullID(_ line: [UInt8]) -> Bool {
    guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { return false }
    return object["id"] is NSNull
}

/// A Unix socket bound at `path` and left behind without a listener, as a crashed daemon leaves it.
func makeStaleSocketFile(at path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    defer { Glibc.close(fd) }
    try bindUnix(fd, path)
}

/// A listening Unix socket at `path` with `mode`, as systemd would hand over.
func makeListeningSocket(at path: String, mode: mode_t) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    do {
        try bindUnix(fd, path)
        guard chmod(path, mode) == 0, listen(fd, 16) == 0 else { throw TestFailure("chmod/listen: errno \(errno)") }
    } catch {
        Glibc.close(fd)
        throw error
    }
    return fd
}

private func bindUnix(_ fd: Int32, _ path: String) throws {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard result == 0 else { throw TestFailure("bind(\(path)): errno \(errno)") }
}

/// The mode bits and file type of `path` (`lstat`), or nil when it does not exist.
func fileMode(_ path: String) -> mode_t? {
    var status = stat()
    guard lstat(path, &status) == 0 else { return nil }
    return status.st_mode
}

func fileExists(_ path: String) -> Bool { fileMode(path) != nil }
