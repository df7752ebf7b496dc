import Foundation
import RelydTestSupport
#if canImport(Glibc)
import Glibc
#endif

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
}

/// The Python server in test_server.py, started for one test. It exits when `stop()` closes its stdin, and also when
/// the test process dies (stdin reaches end of file), so no server outlives the tests.
/// `@unchecked Sendable`: every stored property is a `let` set in init; `stop()` (a Pipe call) is only called by the
/// test that owns the server, after its concurrent requests are done.
final class TestServer: @unchecked Sendable {
    let port: Int
    let scheme: String
    let host: String
    private let process: Process
    private let stdin: Pipe

    /// One plain-HTTP and one HTTPS server shared by all tests of this process: starting Python costs about
    /// 150 ms of CPU, and the tests run in parallel on few cores. Both exit with the test process. Tasks rather
    /// than lazy values: the first test to ask waits for the start without holding a cooperative thread, and so do
    /// the tests asking meanwhile (a lazy static would block them all inside its one-time initialisation).
    private static let sharedPlain = Task { try await start() }
    private static let sharedTLS = Task { try await start(tls: TestCA.main.value) }
    static func plain() async throws -> TestServer { try await sharedPlain.value }
    /// Serves a certificate for 127.0.0.1 and localhost issued by `TestCA.main`.
    static func https() async throws -> TestServer { try await sharedTLS.value }

    /// Starts a server; with `tls`, it serves HTTPS with a certificate for 127.0.0.1 issued by `tls.caFile`.
    /// Python's start and the wait for its port happen on a thread of their own (see ``offPool(_:)``).
    static func start(tls: TestCA? = nil, host: String = "127.0.0.1") async throws -> TestServer {
        try await offPool { try TestServer(tls: tls, host: host) }
    }

    static let scriptPath: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("test_server.py").path

    /// Blocks until Python reports its port: only ever called through ``start(tls:host:)``.
    private init(tls: TestCA?, host: String) throws(TestSetupError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", TestServer.scriptPath]
        if let tls { arguments += ["--cert", tls.serverChain, "--key", tls.serverKey] }
        arguments += ["--host", host]
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        // Not the test runner's stderr: a server that outlives a crashed test would hold the runner's output open.
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw TestSetupError(description: "cannot start python3 \(TestServer.scriptPath): \(error)")
        }

        // Read "PORT n\n".
        var text = ""
        while !text.contains("\n") {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count >= 2, fields[0] == "PORT", let port = Int(fields[1]) else {
            process.terminate()
            throw TestSetupError(description: "test server did not report its port; output: \(text)")
        }
        self.port = port
        self.scheme = tls == nil ? "http" : "https"
        self.host = host
        self.process = process
        self.stdin = stdin
    }

    /// A URL on this server; `host` replaces the address it is bound to (e.g. with a name for it).
    func url(_ path: String, host: String? = nil) -> URL {
        // Force-unwrap is fine here: test-controlled input.
        URL(string: "\(scheme)://\(host ?? self.host):\(port)\(path)")!
    }

    /// Closes the server's stdin, on which it exits; no wait for that, which would hold the caller's thread.
    func stop() {
        try? stdin.fileHandleForWriting.close()
    }

    deinit { stop() }
}

/// A throw-away CA and server certificate made by /work/shared/op/gen-test-ca.sh (path overridable with
/// RELYD_GEN_TEST_CA). Generated once per test process per name.
struct TestCA: Sendable {
    let directory: String
    var caFile: String { directory + "/ca.crt" }
    var serverChain: String { directory + "/server-chain.pem" }
    var serverKey: String { directory + "/server.key" }

    static let generator = ProcessInfo.processInfo.environment["RELYD_GEN_TEST_CA"] ?? "/work/shared/op/gen-test-ca.sh"

    /// The CA that issues the HTTPS test server's certificate. Made once, off the cooperative pool (RSA key
    /// generation takes seconds on a loaded machine); the tests needing it await it.
    static let main = Task { try await offPool { try make("main") } }
    /// An unrelated CA (certificate only), which must not validate the test server. Its subject differs from the
    /// main CA's: OpenSSL looks issuers up by subject name, and a CA file holding a same-named but different CA
    /// would shadow the right one in a CA directory.
    static let other = Task {
        try await offPool { () throws(TestSetupError) -> TestCA in
            let directory = NSTemporaryDirectory() + "relyd-http-tests-\(getpid())/other"
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try run("/usr/bin/env", [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
                    "-subj", "/CN=relyd unrelated test CA", "-keyout", directory + "/ca.key", "-out", directory + "/ca.crt",
                ])
                return TestCA(directory: directory)
            } catch {
                throw TestSetupError(description: "making the unrelated CA failed: \(error)")
            }
        }
    }

    private static func make(_ name: String) throws(TestSetupError) -> TestCA {
        let directory = NSTemporaryDirectory() + "relyd-http-tests-\(getpid())/\(name)"
        do {
            try run("/bin/bash", [generator, directory])
            return TestCA(directory: directory)
        } catch {
            throw TestSetupError(description: "\(generator) \(directory) failed: \(error)")
        }
    }

    /// A hashed certificate directory (for CURLOPT_CAPATH) holding only this CA.
    func hashedDirectory() async throws -> String {
        try await offPool { try makeHashedDirectory() }
    }

    private func makeHashedDirectory() throws -> String {
        let directory = self.directory + "/hashed"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let target = directory + "/ca.pem"
        if !FileManager.default.fileExists(atPath: target) {
            try FileManager.default.copyItem(atPath: caFile, toPath: target)
        }
        try TestCA.run("/usr/bin/env", ["openssl", "rehash", directory])
        return directory
    }

    /// Blocks until the process ends: call it off the cooperative pool only.
    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError(description: "\(executable) \(arguments) exited with \(process.terminationStatus)")
        }
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed again).
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSetupError(description: "socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw TestSetupError(description: "bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
