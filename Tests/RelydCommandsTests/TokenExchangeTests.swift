import Foundation
import RelydHTTP
import RelydProtocol
import RelydTestSupport
import Testing

/// get_tokens_by_code: state handling, OP failures and ID token checks.
@Suite struct TokenExchangeTests {
    let harness = DispatcherHarness()

    func redeem(_ oxdID: String, _ code: String, _ state: String, iss: String? = nil) async -> DispatcherHarness.Response {
        var params: [String: JSONValue] = ["oxd_id": .string(oxdID), "code": .string(code), "state": .string(state)]
        if let iss { params["iss"] = .string(iss) }
        return await harness.send("get_tokens_by_code", params)
    }

    /// A state can be redeemed once; the second try is invalid_state and never reaches the OP.
    @Test func reusedState_failsWithInvalidState_withoutCallingTheOP() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        #expect(await redeem(oxdID, code, state).isOK)
        let calls = harness.op.requests(to: "/token").count
        #expect(await redeem(oxdID, code, state).errorCode == "invalid_state")
        #expect(harness.op.requests(to: "/token").count == calls)
    }

    /// A state older than its lifetime is invalid_state.
    @Test func expiredState_failsWithInvalidState() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.clock.advance(by: 301)
        #expect(await redeem(oxdID, code, state).errorCode == "invalid_state")
        #expect(harness.op.requests(to: "/token").isEmpty)
    }

    /// An unknown state is invalid_state.
    @Test func unknownState_failsWithInvalidState() async throws {
        let oxdID = try await harness.registerSite()
        #expect(await redeem(oxdID, "code", "made-up").errorCode == "invalid_state")
    }

    /// A state presented for another site is refused and stays redeemable by its own site.
    @Test func otherSitesState_isRefused_andNotBurnt() async throws {
        let first = try await harness.registerSite()
        let second = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: first)
        #expect(await redeem(second, code, state).errorCode == "invalid_state")
        #expect(await redeem(first, code, state).isOK)
    }

    /// An `iss` authorization-response parameter from another issuer is refused (RFC 9207).
    @Test func foreignIssParameter_failsWithIssuerMismatch() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        #expect(await redeem(oxdID, code, state, iss: "https://evil.example").errorCode == "issuer_mismatch")
        let (code2, state2) = try await harness.login(oxdID: oxdID)
        #expect(await redeem(oxdID, code2, state2, iss: "https://op.example").isOK)
    }

    /// The code is sent with the PKCE verifier and HTTP Basic client authentication.
    @Test func tokenRequest_usesPKCEAndBasicAuthentication() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        #expect(await redeem(oxdID, code, state).isOK)
        let request = try #require(harness.op.requests(to: "/token").first)
        let body = String(decoding: request.body ?? Data(), as: UTF8.self)
        #expect(body.contains("code_verifier="))
        #expect(!body.contains("client_secret"))
        #expect(request.headers.contains { $0.0 == "Authorization" && $0.1.hasPrefix("Basic ") })
    }

    /// client_secret_post puts the credentials in the form instead.
    @Test func clientSecretPost_sendsCredentialsInTheBody() async throws {
        let oxdID = try await harness.registerSite(["token_endpoint_auth_method": .string("client_secret_post")])
        let (code, state) = try await harness.login(oxdID: oxdID)
        #expect(await redeem(oxdID, code, state).isOK)
        let request = try #require(harness.op.requests(to: "/token").first)
        #expect(String(decoding: request.body ?? Data(), as: UTF8.self).contains("client_secret="))
        #expect(!request.headers.contains { $0.0 == "Authorization" })
    }

    /// An OAuth error from the token endpoint is op_error.
    @Test func opRefusal_isOPError() async throws {
        let oxdID = try await harness.registerSite()
        let (_, state) = try await harness.login(oxdID: oxdID)
        #expect(await redeem(oxdID, "wrong-code", state).errorCode == "op_error")
    }

    /// The OP's own error text never reaches the log: an OP could echo the code it refused.
    @Test func opErrorDescription_isNotLogged() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.op.override(path: "/token") { _ in
            FakeOP.json(["error": .string("invalid_grant"), "error_description": .string("code \(code) expired")],
                        status: 400)
        }
        let response = await redeem(oxdID, code, state)
        #expect(response.errorCode == "op_error")
        #expect(!harness.logs.text.contains(code))
    }

    /// Broken token responses are op_response_invalid; no answer is op_unreachable.
    @Test(arguments: [
        HTTPResponse(status: 200, body: Data("not json".utf8)),
        FakeOP.json(["token_type": .string("Bearer"), "id_token": .string("x")]),
        FakeOP.json(["access_token": .string("at"), "token_type": .string("Bearer")]),
        HTTPResponse(status: 302, headers: ["location": "https://elsewhere.example/"]),
    ])
    func brokenTokenResponse_isOPResponseInvalid(response: HTTPResponse) async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.op.override(path: "/token") { _ in response }
        #expect(await redeem(oxdID, code, state).errorCode == "op_response_invalid")
    }

    /// A timed-out token request is op_unreachable.
    @Test func tokenTimeout_isOPUnreachable() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.op.override(path: "/token") { _ throws(HTTPTransportError) in throw .timedOut("timeout") }
        #expect(await redeem(oxdID, code, state).errorCode == "op_unreachable")
    }

    /// An ID token failing any check is id_token_invalid.
    @Test(arguments: ["nonce", "iss", "aud", "exp", "sub", "at_hash"])
    func badIDToken_isIDTokenInvalid(claim: String) async throws {
        harness.op.idTokenClaimEdits = { claims in
            switch claim {
            case "exp": claims["exp"] = .integer(1_600_000_000)
            case "sub": claims["sub"] = nil
            default: claims[claim] = .string("tampered")
            }
        }
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        #expect(await redeem(oxdID, code, state).errorCode == "id_token_invalid")
    }

    /// max_age makes auth_time mandatory.
    @Test func maxAge_requiresAuthTime() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID, params: ["max_age": .integer(60)])
        #expect(await redeem(oxdID, code, state).errorCode == "id_token_invalid")
    }

    /// A userinfo `sub` that differs from the ID token's is userinfo_invalid.
    @Test func userInfoSubjectMismatch_isUserInfoInvalid() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        let tokens = await redeem(oxdID, code, state)
        harness.op.userInfoSubject = "mallory"
        let response = await harness.send("get_user_info",
                                          ["oxd_id": .string(oxdID), "access_token": tokens.data["access_token"] ?? .null])
        #expect(response.errorCode == "userinfo_invalid")
    }

    /// A refused access token at userinfo is op_error.
    @Test func invalidAccessToken_atUserInfo_isOPError() async throws {
        let oxdID = try await harness.registerSite()
        let response = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": .string("bogus")])
        #expect(response.errorCode == "op_error")
    }

    /// No secret, code, token, verifier or state ever reaches the log, even at debug level.
    @Test func logs_neverContainSecrets() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        let tokens = await redeem(oxdID, code, state)
        _ = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": tokens.data["access_token"] ?? .null])
        _ = await redeem(oxdID, code, state)
        let site = try #require(try await harness.store.site(id: oxdID))
        let log = harness.logs.text
        #expect(!log.isEmpty)
        let secrets = [site.clientSecret?.revealed, site.registrationAccessToken?.revealed, code, state,
                       tokens.data["access_token"]?.stringValue, tokens.data["refresh_token"]?.stringValue,
                       tokens.data["id_token"]?.stringValue].compactMap { $0 }
        for secret in secrets {
            #expect(!log.contains(secret))
        }
    }
}
