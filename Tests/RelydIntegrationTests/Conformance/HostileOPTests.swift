import Foundation
import RelydClient
import RelydHTTP
import RelydProtocol
import RelydTestSupport
import Testing

extension Conformance {
    /// An OP that misbehaves at the HTTP level: each misbehaviour is a clear error code, never a crash or a hang, and
    /// the daemon answers a health request right after (``ConformanceOP/errorCode(_:)`` checks that).
    @Suite(.sharedRelyd("op_timeout_ms = 3000")) struct HostileOPTests {
        static let discoveryPath = "/.well-known/openid-configuration"

        /// An OP whose ID tokens are fine, so that only the misbehaviour under test can fail a login.
        func makeOP() throws -> ConformanceOP { try ConformanceOP(signing: OPSigningKey(.rs256, keyID: "k1")) }

        func registrationError(_ op: ConformanceOP) async throws -> String? {
            try await op.errorCode { _ = try await op.registerSite() }
        }

        func loginError(_ op: ConformanceOP, breaking path: String,
                        with responder: @escaping @Sendable (HTTPRequest) -> HTTPResponse) async throws -> String? {
            let oxdID = try await op.registerSite()
            op.fake.override(path: path) { request in responder(request) }
            return try await op.errorCode { _ = try await op.codeFlow(oxdID: oxdID) }
        }

        static func html(_ request: HTTPRequest) -> HTTPResponse {
            HTTPResponse(status: 200, headers: ["content-type": "text/html"], body: Data("<html>not JSON</html>".utf8))
        }

        @Test("hostile-discovery-issuer-not-op_host: issuer_mismatch")
        func test_hostile_discovery_issuer_differs_from_op_host() async throws {
            let op = try makeOP()
            let issuer = op.issuer
            op.fake.discoveryEdits = { $0["issuer"] = .string(issuer + "/") }
            #expect(try await registrationError(op) == "issuer_mismatch")
        }

        @Test("hostile-discovery-not-json: op_response_invalid")
        func test_hostile_non_json_discovery() async throws {
            let op = try makeOP()
            op.fake.override(path: Self.discoveryPath, Self.html)
            #expect(try await registrationError(op) == "op_response_invalid")
        }

        @Test("hostile-token-response-not-json: op_response_invalid")
        func test_hostile_non_json_token_response() async throws {
            #expect(try await loginError(try makeOP(), breaking: "/token", with: Self.html) == "op_response_invalid")
        }

        @Test("hostile-jwks-not-json: op_response_invalid")
        func test_hostile_non_json_jwks() async throws {
            #expect(try await loginError(try makeOP(), breaking: "/jwks", with: Self.html) == "op_response_invalid")
        }

        @Test("hostile-userinfo-not-json: op_response_invalid")
        func test_hostile_non_json_userinfo() async throws {
            let op = try makeOP()
            let (oxdID, tokens) = try await op.registerAndLogIn()
            op.fake.override(path: "/userinfo", Self.html)
            #expect(try await op.errorCode { _ = try await op.client.userInfo(oxdID: oxdID, accessToken: tokens.accessToken) }
                == "op_response_invalid")
        }

        @Test("hostile-discovery-10-mb: op_response_invalid")
        func test_hostile_10mb_discovery() async throws {
            let op = try makeOP()
            let huge = Data(repeating: UInt8(ascii: " "), count: 10 * 1024 * 1024)
            op.fake.override(path: Self.discoveryPath) { _ in
                HTTPResponse(status: 200, headers: ["content-type": "application/json"], body: huge)
            }
            #expect(try await registrationError(op) == "op_response_invalid")
        }

        @Test("hostile-token-response-10-mb: op_response_invalid")
        func test_hostile_10mb_token_response() async throws {
            let huge = Data(repeating: UInt8(ascii: " "), count: 10 * 1024 * 1024)
            #expect(try await loginError(try makeOP(), breaking: "/token") { _ in
                HTTPResponse(status: 200, headers: ["content-type": "application/json"], body: huge)
            } == "op_response_invalid")
        }

        @Test("hostile-discovery-never-answers: op_unreachable (after op_timeout_ms)")
        func test_hostile_discovery_never_answers() async throws {
            let op = try makeOP()
            op.server.neverAnswer(path: Self.discoveryPath)
            #expect(try await registrationError(op) == "op_unreachable")
        }

        @Test("hostile-token-endpoint-never-answers: op_unreachable (after op_timeout_ms)")
        func test_hostile_token_endpoint_never_answers() async throws {
            let op = try makeOP()
            let oxdID = try await op.registerSite()
            op.server.neverAnswer(path: "/token")
            #expect(try await op.errorCode { _ = try await op.codeFlow(oxdID: oxdID) } == "op_unreachable")
        }

        @Test("hostile-discovery-redirect-to-another-host: op_response_invalid (no redirect is followed)")
        func test_hostile_discovery_redirects_to_another_host() async throws {
            let op = try makeOP()
            let elsewhere = try makeOP()
            let target = elsewhere.issuer + Self.discoveryPath
            op.fake.override(path: Self.discoveryPath) { _ in HTTPResponse(status: 302, headers: ["location": target]) }
            #expect(try await registrationError(op) == "op_response_invalid")
            #expect(elsewhere.fake.requests.isEmpty)
        }

        @Test("hostile-token-response-without-access_token: op_response_invalid")
        func test_hostile_token_response_missing_access_token() async throws {
            let op = try makeOP()
            op.fake.tokenResponseEdits = { $0["access_token"] = nil }
            let oxdID = try await op.registerSite()
            #expect(try await op.errorCode { _ = try await op.codeFlow(oxdID: oxdID) } == "op_response_invalid")
        }
    }
}
