import Foundation
import RelydHTTP
import RelydTestSupport
import Testing

/// An OP whose DNS server stops answering must cost only its own requests their op_timeout_ms: libcurl's threaded
/// resolver otherwise joins the hung getaddrinfo when the request times out, on the one thread that drives every
/// OP request of the daemon.
@Suite struct SlowDNSTests {
    /// The host name whose lookup hangs; `.invalid` (RFC 6761) never reaches a real DNS server by accident.
    static let slowHost = "slow-dns.invalid"
    static let lookupSeconds = 6
    static let timeoutMilliseconds = 500
    /// Far above op_timeout_ms, and far below what a joined lookup costs: about `lookupSeconds` for the hung request,
    /// that less the next request's head start (two timeouts) for the next one.
    static let promptSeconds = 3.0

    /// A getaddrinfo that hangs for `slowHost` and answers like libc's for every other name, for LD_PRELOAD.
    static let preloadSource = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <netdb.h>
        #include <string.h>
        #include <unistd.h>

        typedef int (*lookup_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

        int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
            if (node != NULL && strcmp(node, "\(slowHost)") == 0) {
                sleep(\(lookupSeconds));
                return EAI_NONAME;
            }
            lookup_fn libc_lookup = (lookup_fn)dlsym(RTLD_NEXT, "getaddrinfo");
            return libc_lookup(node, service, hints, res);
        }
        """

    @Test func hungLookup_failsAtTheTimeout_andOtherOPRequestsGoOn() throws {
        let directory = try TemporaryDirectory()
        let preload = try Self.compilePreload(in: directory.url)
        let op = try LoopbackHTTPServer()
        let discovery = try JSONEncoder().encode(FakeOP(issuer: op.baseURL).discovery())
        op.start(answering: { _ in
            HTTPResponse(status: 200, headers: ["content-type": "application/json"], body: discovery)
        })
        defer { op.stop() }
        let config = "allow_http_loopback = true\nop_timeout_ms = \(Self.timeoutMilliseconds)"
        let daemon = try RelydDaemon(in: directory.url.appendingPathComponent("daemon"), extraConfig: config,
                                     environment: ["LD_PRELOAD": preload])

        let hungRequest = TimedDiscovery(socketPath: daemon.socketPath, opHost: "https://\(Self.slowHost):8443")
        // Issued once the hung request has timed out, whether or not its answer has come back yet.
        usleep(useconds_t(2 * Self.timeoutMilliseconds * 1000))
        let next = try TimedDiscovery(socketPath: daemon.socketPath, opHost: op.baseURL).answer()
        let hung = try hungRequest.answer()

        #expect(hung.code == "op_unreachable")
        #expect(next.code == nil)
        #expect(hung.duration < .seconds(Self.promptSeconds), "the hung lookup's request took \(hung.duration)")
        #expect(next.duration < .seconds(Self.promptSeconds), "the next OP request took \(next.duration)")
        #expect(daemon.terminate() == 0)
    }

    /// Builds the preload library with the toolchain's clang, which every Swift installation ships.
    static func compilePreload(in directory: URL) throws -> String {
        let source = directory.appendingPathComponent("slow-dns.c").path
        let library = directory.appendingPathComponent("slow-dns.so").path
        try preloadSource.write(toFile: source, atomically: false, encoding: .utf8)
        try run(clang(), ["-shared", "-fPIC", "-O1", "-o", library, source, "-ldl"])
        return library
    }

    /// clang on PATH, else the one beside the real `swift` executable.
    static func clang() throws -> String {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        let beside = folders.map { URL(fileURLWithPath: $0).appendingPathComponent("swift") }
            .filter { FileManager.default.isExecutableFile(atPath: $0.path) }
            .map { $0.resolvingSymlinksInPath().deletingLastPathComponent().path }
        for folder in folders + beside {
            let candidate = URL(fileURLWithPath: folder).appendingPathComponent("clang").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw IntegrationError("no clang on PATH nor beside swift")
    }
}

/// One get_discovery on a connection and a thread of its own, so that its duration is the daemon's answer time, not
/// how long this test process's busy cooperative pool took to notice the answer.
final class TimedDiscovery: @unchecked Sendable {
    private let answered = DispatchSemaphore(value: 0)
    // Written by the request's thread before it signals `answered`, read after waiting for it.
    private var outcome: Result<(code: String?, duration: Duration), any Error> = .failure(IntegrationError("unsent"))

    init(socketPath: String, opHost: String) {
        let line = Array(#"{"id":1,"command":"get_discovery","params":{"op_host":"\#(opHost)"}}"#.utf8) + [0x0a]
        Thread { [self] in
            outcome = Result {
                let connection = try DaemonRobustnessTests.LineConnection(path: socketPath)
                let clock = ContinuousClock()
                let start = clock.now
                let code = try connection.errorCode(after: line)
                return (code, start.duration(to: clock.now))
            }
            answered.signal()
        }.start()
    }

    /// The error code (nil when the request succeeded) and the time from sending the request to its answer.
    func answer() throws -> (code: String?, duration: Duration) {
        answered.wait()
        return try outcome.get()
    }
}
