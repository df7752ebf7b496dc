import Foundation
import RelydHTTP
import RelydProtocol
import RelydTestSupport
import Testing

/// The loopback server is what the conformance tests and the benchmark put between relyd's libcurl transport and a
/// FakeOP, so it is checked here through that very transport.
@Suite struct LoopbackHTTPServerTests {
    @Test func servesFakeOPEndpointsThroughCurl() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let op = FakeOP(issuer: server.baseURL)
        server.start(serving: op)
        let transport = CurlTransport()

        let discovery = try await transport.send(
            HTTPRequest(url: try #require(URL(string: server.baseURL + "/.well-known/openid-configuration"))))
        #expect(discovery.status == 200)
        let document = try JSONParser.parse(Array(discovery.body))
        #expect(document["issuer"]?.stringValue == server.baseURL)

        let registration = try await transport.send(HTTPRequest(
            method: .post, url: try #require(URL(string: server.baseURL + "/register")),
            headers: [("Content-Type", "application/json")],
            body: Data(#"{"redirect_uris":["https://app.example/cb"]}"#.utf8)))
        #expect(registration.status == 201)
        #expect(op.requests(to: "/register").first?.body == Data(#"{"redirect_uris":["https://app.example/cb"]}"#.utf8))
    }

    @Test func keepsOneConnectionForManyRequestsAndAnswersOverridesVerbatim() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let op = FakeOP(issuer: server.baseURL)
        let big = Data(repeating: UInt8(ascii: "x"), count: 3 << 20)
        op.override(path: "/big") { _ in HTTPResponse(status: 200, headers: ["content-type": "text/plain"], body: big) }
        op.override(path: "/moved") { _ in HTTPResponse(status: 302, headers: ["location": "https://elsewhere.example/"]) }
        server.start(serving: op)
        let transport = CurlTransport(configuration: .init(maxResponseBytes: 8 << 20))

        for _ in 0..<20 {
            let response = try await transport.send(HTTPRequest(url: try #require(URL(string: server.baseURL + "/big"))))
            #expect(response.body.count == big.count)
        }
        #expect(server.acceptedConnections == 1)
        let moved = try await transport.send(HTTPRequest(url: try #require(URL(string: server.baseURL + "/moved"))))
        #expect(moved.status == 302)
        #expect(moved.header("Location") == "https://elsewhere.example/")
    }

    @Test func aSilentPathTimesTheClientOutAndStopReleasesIt() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        server.neverAnswer(path: "/token")
        server.start(serving: FakeOP(issuer: server.baseURL))
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 300))

        await #expect(throws: HTTPTransportError.self) {
            _ = try await transport.send(HTTPRequest(method: .post, url: try #require(URL(string: server.baseURL + "/token"))))
        }
        // A default timeout here: the 300 ms one is about the silent path, and a loaded 2-core machine can take longer
        // than that to run FakeOP's handler on the cooperative pool.
        let stillServing = try await CurlTransport(configuration: .init()).send(
            HTTPRequest(url: try #require(URL(string: server.baseURL + "/.well-known/openid-configuration"))))
        #expect(stillServing.status == 200)
    }
}
