import Foundation
import Testing

@testable import RelydHTTP

/// libcurl, OpenSSL's initialisation and the worker thread start with the first request, not with the transport:
/// an idle daemon does not carry them (issue 7: idle memory).
@Suite struct CurlTransportStartTests {
    static let closedPortURL = URL(string: "http://127.0.0.1:1/")!

    private func sendError(_ transport: CurlTransport, _ url: URL) async -> HTTPTransportError? {
        do throws(HTTPTransportError) {
            _ = try await transport.send(HTTPRequest(url: url))
            return nil
        } catch {
            return error
        }
    }

    @Test func startsWithTheFirstRequestNotBefore() async {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        #expect(!transport.hasStarted)
        // Refused before anything starts: the scheme is checked first.
        #expect(await sendError(transport, URL(string: "ftp://127.0.0.1/")!) != nil)
        #expect(!transport.hasStarted)
        _ = await sendError(transport, Self.closedPortURL)
        #expect(transport.hasStarted)
    }

    @Test func shutDownBeforeAnyRequest_refusesRequestsWithoutStarting() async {
        let transport = CurlTransport()
        transport.shutdown()
        #expect(await sendError(transport, Self.closedPortURL) == .unreachable("HTTP transport is shut down"))
        #expect(!transport.hasStarted)
        transport.shutdown()  // idempotent
    }
}
