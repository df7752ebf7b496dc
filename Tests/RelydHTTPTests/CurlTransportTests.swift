import Foundation
import Testing

@testable import RelydHTTP

/// The error `send` throws, or nil if it returned a response.
private func sendError(_ transport: CurlTransport, _ request: HTTPRequest) async -> HTTPTransportError? {
    do throws(HTTPTransportError) {
        _ = try await transport.send(request)
        return nil
    } catch {
        return error
    }
}

private func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

private func json(_ response: HTTPResponse) throws -> [String: String] {
    let object = try JSONSerialization.jsonObject(with: response.body)
    guard let dictionary = object as? [String: Any] else { throw TestSetupError(description: "not an object") }
    return dictionary.compactMapValues { $0 as? String }
}

private func elapsed(since start: ContinuousClock.Instant) -> Double {
    let duration = ContinuousClock.now - start
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

@Suite("CurlTransport over plain HTTP")
struct CurlHTTPTests {
    @Test func getReturnsStatusHeadersAndBody() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let response = try await transport.send(HTTPRequest(url: server.url("/json")))
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.headers["content-length"] == "39")
        #expect(text(response) == #"{"issuer":"http://127.0.0.1","ok":true}"#)
    }

    @Test func postSendsHeadersAndBody() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let request = HTTPRequest(
            method: .post, url: server.url("/echo"),
            headers: [("X-Test", "hello"), ("Content-Type", "application/x-www-form-urlencoded")],
            body: Data("grant_type=authorization_code&code=abc".utf8))
        let response = try await transport.send(request)
        #expect(response.status == 200)
        #expect(response.header("x-echo-method") == "POST")
        let echoed = try json(response)
        #expect(echoed["method"] == "POST")
        #expect(echoed["header"] == "hello")
        #expect(echoed["content_type"] == "application/x-www-form-urlencoded")
        #expect(echoed["body"] == "grant_type=authorization_code&code=abc")
    }

    @Test func postWithEmptyBodyAndBinaryBody() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let empty = try await transport.send(HTTPRequest(method: .post, url: server.url("/echo")))
        #expect(try json(empty)["body"] == "")
        // A NUL in the body must not truncate it (POSTFIELDSIZE is set, not strlen).
        let binary = try await transport.send(
            HTTPRequest(method: .post, url: server.url("/echo"), body: Data([0x61, 0x00, 0x62])))
        #expect(try json(binary)["body"] == "a\u{0}b")
    }

    @Test func putAndDeleteUseTheirMethods() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let put = try await transport.send(
            HTTPRequest(method: .put, url: server.url("/echo"), headers: [("X-Test", "p")], body: Data("{\"a\":1}".utf8)))
        let putEcho = try json(put)
        #expect(putEcho["method"] == "PUT")
        #expect(putEcho["header"] == "p")
        #expect(putEcho["body"] == "{\"a\":1}")

        let delete = try await transport.send(HTTPRequest(method: .delete, url: server.url("/echo")))
        let deleteEcho = try json(delete)
        #expect(deleteEcho["method"] == "DELETE")
        #expect(deleteEcho["body"] == "")

        let deleteWithBody = try await transport.send(
            HTTPRequest(method: .delete, url: server.url("/echo"), body: Data("x=1".utf8)))
        #expect(try json(deleteWithBody)["method"] == "DELETE")
        #expect(try json(deleteWithBody)["body"] == "x=1")
    }

    @Test func responseHeadersAreLowerCasedAndInterimBlocksDropped() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let headers = try await transport.send(HTTPRequest(url: server.url("/headers")))
        #expect(headers.headers["x-mixed-case"] == "Value")
        #expect(headers.headers["X-Mixed-Case"] == nil)
        #expect(headers.header("X-Repeated") == "second")
        // Optional whitespace around a value is not part of it; inner whitespace and non-ASCII bytes are.
        #expect(headers.header("x-padded") == "padded value")
        #expect(headers.header("x-empty") == "")
        #expect(headers.header("x-utf8") == "caf\u{e9}")

        let continued = try await transport.send(HTTPRequest(url: server.url("/continue")))
        #expect(continued.status == 200)
        #expect(continued.header("x-final") == "yes")
        #expect(continued.header("x-interim") == nil)
        #expect(text(continued) == "after continue")
    }

    @Test func redirectIsReturnedNotFollowed() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let response = try await transport.send(HTTPRequest(url: server.url("/redirect")))
        #expect(response.status == 302)
        #expect(response.header("location") == "http://other.invalid/elsewhere")
        #expect(text(response) == "moved")
    }

    @Test(arguments: [204, 400, 401, 404, 500, 503])
    func errorStatusesAreResponses(status: Int) async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let response = try await transport.send(HTTPRequest(url: server.url("/status/\(status)")))
        #expect(response.status == status)
        #expect(response.body.isEmpty)
    }

    @Test func connectionsAreReused() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let first = try await transport.send(HTTPRequest(url: server.url("/peer")))
        let second = try await transport.send(HTTPRequest(url: server.url("/peer")))
        #expect(text(first) == text(second), "the second request should reuse the first one's TCP connection")
    }

    @Test func totalTimeoutFires() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 300))
        defer { transport.shutdown() }

        let start = ContinuousClock.now
        let error = await sendError(transport, HTTPRequest(url: server.url("/hang")))
        let seconds = elapsed(since: start)
        guard case .timedOut = error else {
            Issue.record("expected timedOut, got \(String(describing: error))")
            return
        }
        // Not before the configured 300 ms, and well before the 10 s default: the configured timeout is the one
        // that fired. Generous above, because a loaded 2-core machine can delay the wake-up by seconds.
        #expect(seconds >= 0.25 && seconds < 9, "timed out after \(seconds) s")
    }

    /// Timeouts changed on a running transport (SIGHUP) apply to the next request.
    @Test func changedTimeouts_applyToTheNextRequest() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 60_000))
        defer { transport.shutdown() }
        transport.timeouts = CurlTransport.Timeouts(connectMilliseconds: 3000, totalMilliseconds: 300)

        let start = ContinuousClock.now
        let error = await sendError(transport, HTTPRequest(url: server.url("/hang")))
        let seconds = elapsed(since: start)
        guard case .timedOut = error else {
            Issue.record("expected timedOut, got \(String(describing: error))")
            return
        }
        #expect(seconds < 50, "timed out after \(seconds) s: the old 60 s timeout applied")
    }

    @Test func slowResponseWithinTimeoutSucceeds() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 5000))
        defer { transport.shutdown() }

        let response = try await transport.send(HTTPRequest(url: server.url("/slow?ms=200")))
        #expect(response.status == 200)
        #expect(text(response) == "slow")
    }

    @Test func closedPortIsUnreachable() async throws {
        let port = try closedPort()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let error = await sendError(transport, HTTPRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/"))))
        guard case .unreachable(let message) = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(message.contains("connect"), "\(message)")
    }

    @Test func unresolvableHostIsUnreachable() async throws {
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 5000))
        defer { transport.shutdown() }
        let error = await sendError(transport, HTTPRequest(url: try #require(URL(string: "http://relyd-test.invalid/"))))
        // An unresolvable name is .unreachable; a hung resolver would be .timedOut. Neither returns a response.
        switch error {
        case .unreachable?, .timedOut?: break
        default: Issue.record("expected unreachable, got \(String(describing: error))")
        }
    }

    @Test func bodyOverTheCapIsRejected() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport(configuration: .init(maxResponseBytes: 1000))
        defer { transport.shutdown() }

        // Announced by Content-Length: CURLOPT_MAXFILESIZE_LARGE stops it before the body is read.
        let announced = await sendError(transport, HTTPRequest(url: server.url("/big?bytes=5000")))
        #expect(announced == .responseTooLarge(limit: 1000))
        // No Content-Length: the write callback stops it.
        let streamed = await sendError(transport, HTTPRequest(url: server.url("/big?bytes=200000&nolength=1")))
        #expect(streamed == .responseTooLarge(limit: 1000))
        // Exactly at the cap is fine, with and without Content-Length.
        let atCap = try await transport.send(HTTPRequest(url: server.url("/big?bytes=1000")))
        #expect(atCap.body.count == 1000)
        let atCapStreamed = try await transport.send(HTTPRequest(url: server.url("/big?bytes=1000&nolength=1")))
        #expect(atCapStreamed.body.count == 1000)
    }

    @Test(arguments: ["ftp://127.0.0.1/file", "file:///etc/passwd", "gopher://127.0.0.1/", "dict://127.0.0.1/x"])
    func nonHTTPSchemesAreRejected(url: String) async throws {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        let error = await sendError(transport, HTTPRequest(url: try #require(URL(string: url))))
        guard case .schemeNotAllowed? = error else {
            Issue.record("expected schemeNotAllowed, got \(String(describing: error))")
            return
        }
    }

    @Test func headerWithLineBreakIsRejectedWithoutEchoingIt() async throws {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        let request = HTTPRequest(
            url: try #require(URL(string: "http://127.0.0.1:9/")),
            headers: [("Authorization", "Basic s3cret\r\nX-Injected: 1")])
        let error = await sendError(transport, request)
        guard case .unreachable(let message)? = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(!message.contains("s3cret"))
    }

    @Test func errorsNeverContainBodiesOrHeaderValues() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 200))
        defer { transport.shutdown() }

        let request = HTTPRequest(
            method: .post, url: server.url("/hang"),
            headers: [("Authorization", "Basic aGVhZGVyc2VjcmV0")], body: Data("client_secret=bodysecret".utf8))
        let error = await sendError(transport, request)
        let description = String(describing: error)
        #expect(error != nil)
        #expect(!description.contains("aGVhZGVyc2VjcmV0"))
        #expect(!description.contains("bodysecret"))
    }

    @Test func hundredConcurrentRequestsComplete() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 30_000))
        defer { transport.shutdown() }

        let results = await withTaskGroup(of: (Int, Result<HTTPResponse, HTTPTransportError>).self) { group in
            for index in 0..<100 {
                group.addTask {
                    let request = HTTPRequest(
                        method: .post, url: server.url("/echo"), headers: [("X-Test", "\(index)")],
                        body: Data("body-\(index)".utf8))
                    do throws(HTTPTransportError) {
                        return (index, .success(try await transport.send(request)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var all: [(Int, Result<HTTPResponse, HTTPTransportError>)] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 100)
        for (index, result) in results {
            switch result {
            case .success(let response):
                let echoed = try json(response)
                #expect(echoed["header"] == "\(index)")
                #expect(echoed["body"] == "body-\(index)")
            case .failure(let error):
                Issue.record("request \(index) failed: \(error)")
            }
        }
    }

    @Test func hangingRequestDoesNotDelayOthersAndCanBeCancelled() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 20_000))
        defer { transport.shutdown() }

        let hang = Task { () async -> HTTPTransportError? in
            await sendError(transport, HTTPRequest(url: server.url("/hang")))
        }
        try await Task.sleep(for: .milliseconds(100))  // let the hang reach the server first

        let start = ContinuousClock.now
        let response = try await transport.send(HTTPRequest(url: server.url("/json")))
        let jsonSeconds = elapsed(since: start)
        #expect(response.status == 200)
        #expect(jsonSeconds < 10, "/json took \(jsonSeconds) s next to a hanging request")

        let cancelStart = ContinuousClock.now
        hang.cancel()
        let hangError = await hang.value
        #expect(hangError == .timedOut("request cancelled"))
        #expect(elapsed(since: cancelStart) < 10)
        #expect(elapsed(since: start) < 18, "the hang must end by cancellation, not by its 20 s timeout")
    }

    @Test func cancelledBeforeSendingFailsAtOnce() async throws {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        let request = HTTPRequest(url: try #require(URL(string: "http://127.0.0.1:9/")))
        let task = Task { () async -> HTTPTransportError? in
            withUnsafeCurrentTask { $0?.cancel() }
            return await sendError(transport, request)
        }
        #expect(await task.value == .timedOut("request cancelled"))
    }

    @Test func shutdownFailsPendingAndLaterRequests() async throws {
        let server = try await TestServer.plain()
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 20_000))

        let pending = Task { () async -> HTTPTransportError? in
            await sendError(transport, HTTPRequest(url: server.url("/hang")))
        }
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        transport.shutdown()
        #expect(await pending.value == .unreachable("HTTP transport is shut down"))
        #expect(elapsed(since: start) < 5)

        let later = await sendError(transport, HTTPRequest(url: server.url("/json")))
        #expect(later == .unreachable("HTTP transport is shut down"))
        transport.shutdown()  // idempotent
    }
}

@Suite("CurlTransport over HTTPS")
struct CurlHTTPSTests {
    @Test func caFileIsTrusted() async throws {
        let ca = try await TestCA.main.value
        let server = try await TestServer.https()
        let transport = CurlTransport(configuration: .init(caFile: ca.caFile))
        defer { transport.shutdown() }

        let response = try await transport.send(HTTPRequest(url: server.url("/json")))
        #expect(response.status == 200)
        #expect(text(response).contains("issuer"))
        let post = try await transport.send(
            HTTPRequest(method: .post, url: server.url("/echo"), headers: [("X-Test", "tls")], body: Data("b".utf8)))
        #expect(try json(post)["header"] == "tls")
        #expect(try json(post)["body"] == "b")
    }

    @Test func hostNameIsVerified() async throws {
        let ca = try await TestCA.main.value
        let transport = CurlTransport(configuration: .init(caFile: ca.caFile))
        defer { transport.shutdown() }

        // The certificate names 127.0.0.1, ::1 and localhost.
        let byName = try await transport.send(HTTPRequest(url: try await TestServer.https().url("/json", host: "localhost")))
        #expect(byName.status == 200)

        // 127.0.0.2 is loopback too (all of 127/8 is on Linux) but not in the certificate: a trusted chain for the
        // wrong name must fail.
        let server = try await TestServer.start(tls: ca, host: "127.0.0.2")
        defer { server.stop() }
        let error = await sendError(transport, HTTPRequest(url: server.url("/json")))
        guard case .unreachable(let message)? = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(message.lowercased().contains("certificate"), "\(message)")
    }

    @Test func withoutTheCAVerificationFails() async throws {
        let server = try await TestServer.https()
        let transport = CurlTransport()
        defer { transport.shutdown() }

        let error = await sendError(transport, HTTPRequest(url: server.url("/json")))
        guard case .unreachable(let message)? = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(message.lowercased().contains("certificate"), "\(message)")
    }

    @Test func anUnrelatedCAFileDoesNotValidate() async throws {
        let other = try await TestCA.other.value
        let server = try await TestServer.https()
        let transport = CurlTransport(configuration: .init(caFile: other.caFile))
        defer { transport.shutdown() }

        let error = await sendError(transport, HTTPRequest(url: server.url("/json")))
        guard case .unreachable? = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
    }

    @Test func caFileAndCADirectoryAreBothTrusted() async throws {
        // caFile holds an unrelated CA; the server's CA is only in caDirectory. Success shows that setting
        // CURLOPT_CAINFO does not switch off CURLOPT_CAPATH, which is how caFile adds to the system store.
        let ca = try await TestCA.main.value
        let other = try await TestCA.other.value
        let server = try await TestServer.https()
        let transport = CurlTransport(
            configuration: .init(caFile: other.caFile, caDirectory: try await ca.hashedDirectory(), trustSystemStore: false))
        defer { transport.shutdown() }

        let response = try await transport.send(HTTPRequest(url: server.url("/json")))
        #expect(response.status == 200)
    }

    @Test func pinnedCAFileWithoutSystemStore() async throws {
        let ca = try await TestCA.main.value
        let server = try await TestServer.https()

        let pinned = CurlTransport(configuration: .init(caFile: ca.caFile, trustSystemStore: false))
        defer { pinned.shutdown() }
        #expect(try await pinned.send(HTTPRequest(url: server.url("/json"))).status == 200)

        let nothingTrusted = CurlTransport(configuration: .init(trustSystemStore: false))
        defer { nothingTrusted.shutdown() }
        let error = await sendError(nothingTrusted, HTTPRequest(url: server.url("/json")))
        guard case .unreachable? = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
    }

    @Test func missingCAFileIsUnreachable() async throws {
        let server = try await TestServer.https()
        let transport = CurlTransport(configuration: .init(caFile: "/nonexistent/relyd-ca.pem"))
        defer { transport.shutdown() }

        let error = await sendError(transport, HTTPRequest(url: server.url("/json")))
        guard case .unreachable? = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
    }

    @Test func concurrentHTTPSRequestsComplete() async throws {
        let ca = try await TestCA.main.value
        let server = try await TestServer.https()
        let transport = CurlTransport(configuration: .init(totalTimeoutMilliseconds: 30_000, caFile: ca.caFile))
        defer { transport.shutdown() }

        let statuses = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<40 {
                group.addTask { (try? await transport.send(HTTPRequest(url: server.url("/json"))))?.status ?? -1 }
            }
            var all: [Int] = []
            for await status in group { all.append(status) }
            return all
        }
        #expect(statuses.count == 40)
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
    }
}
