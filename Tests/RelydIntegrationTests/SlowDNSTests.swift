import Foundation
import RelydClient
import RelydProtocol
import RelydTestSupport
import Testing

/// An OP whose DNS server stops answering must cost only its own requests their op_timeout_ms: libcurl's threaded
/// resolver otherwise joins the hung getaddrinfo when the request times out, on the one thread that drives every
/// OP request of the daemon.
@Suite struct SlowDNSTests {
    /// The host name whose lookup hangs; `.invalid` (RFC 6761) never reaches a real DNS server by accident.
    static let slowHost = "slow-dns.invalid"
    static let lookupSeconds = 4
    static let timeoutMilliseconds = 300
    /// Far above op_timeout_ms and far below what a joined lookup costs (about `lookupSeconds`).
    static let promptSeconds = 2.5

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

    @Test func hungLookup_failsAtTheTimeout_andOtherOPRequestsGoOn() async throws {
        let directory = try TemporaryDirectory()
        let preload = try Self.compilePreload(in: directory.url)
        let op = try LoopbackHTTPServer()
        op.start(serving: FakeOP(issuer: op.baseURL))
        defer { op.stop() }
        let config = "allow_http_loopback = true\nop_timeout_ms = \(Self.timeoutMilliseconds)"
        let daemon = try RelydDaemon(in: directory.url.appendingPathComponent("daemon"), extraConfig: config,
                                     environment: ["LD_PRELOAD": preload])
        let hungClient = RelydClient(socketPath: daemon.socketPath, timeout: .seconds(30))
        let nextClient = RelydClient(socketPath: daemon.socketPath, timeout: .seconds(30))
        defer {
            hungClient.close()
            nextClient.close()
        }

        async let hungAnswer = Self.discovery(hungClient, opHost: "https://\(Self.slowHost):8443")
        // Issued once the hung request has timed out, whether or not its answer has come back yet.
        try await Task.sleep(for: .milliseconds(2 * Self.timeoutMilliseconds))
        let next = await Self.discovery(nextClient, opHost: op.baseURL)
        let hung = await hungAnswer

        #expect(hung.code == "op_unreachable")
        #expect(next.code == nil)
        #expect(hung.duration < .seconds(Self.promptSeconds), "the hung lookup's request took \(hung.duration)")
        #expect(next.duration < .seconds(Self.promptSeconds), "the next OP request took \(next.duration)")
        #expect(daemon.terminate() == 0)
    }

    /// get_discovery's error code (nil when it succeeds) and how long its answer took.
    static func discovery(_ client: RelydClient, opHost: String) async -> (code: String?, duration: Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await client.discovery(opHost: opHost)
            return (nil, start.duration(to: clock.now))
        } catch {
            return (error.code, start.duration(to: clock.now))
        }
    }

    /// Builds the preload library with the toolchain's clang, which every Swift installation ships.
    static func compilePreload(in directory: URL) throws -> String {
        let source = directory.appendingPathComponent("slow-dns.c").path
        let library = directory.appendingPathComponent("slow-dns.so").path
        try preloadSource.write(toFile: source, atomically: true, encoding: .utf8)
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
