import Foundation
import RelydProtocol
import RelydTestSupport
import Testing

/// get_access_token_by_refresh_token: the grant, rotation, refreshed ID tokens and single-flight.
@Suite struct RefreshTokenTests {
    /// A refresh sends grant_type=refresh_token with client authentication and returns the rotated refresh token.
    @Test func refresh_returnsNewTokens_andTheRotatedRefreshToken() async throws {
        let fixture = try await TokenCommandsFixture()
        let response = await fixture.refresh(fixture.refreshToken)
        #expect(response.isOK)
        #expect(response.data["access_token"]?.stringValue?.hasPrefix("at-refreshed-") == true)
        #expect(response.data["refresh_token"]?.stringValue?.hasPrefix("rt-rotated-") == true)
        #expect(response.data["id_token"] == nil)
        // Like every token result: an absolute expiry (when the OP gave expires_in) and the granted scopes.
        let expiresIn = try #require(response.data["expires_in"]?.int64Value)
        #expect(response.data["expires_at"] == .integer(Int64(fixture.harness.clock.now().timeIntervalSince1970) + expiresIn))
        #expect(response.data["scope"]?.arrayValue?.isEmpty == false)
        let request = try #require(fixture.harness.op.requests(to: "/token").last)
        #expect(fixture.lastForm("/token").contains("grant_type=refresh_token"))
        #expect(request.headers.contains { $0.0 == "Authorization" && $0.1.hasPrefix("Basic ") })
    }

    /// Without rotation the refresh token sent is returned.
    @Test func refresh_withoutRotation_returnsTheSentRefreshToken() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.service.rotatesRefreshTokens = false
        let response = await fixture.refresh(fixture.refreshToken)
        #expect(response.data["refresh_token"]?.stringValue == fixture.refreshToken)
    }

    /// The scope, when given, is sent space-separated.
    @Test func refresh_sendsTheRequestedScope() async throws {
        let fixture = try await TokenCommandsFixture()
        #expect(await fixture.refresh(fixture.refreshToken, scope: ["openid", "email"]).isOK)
        #expect(fixture.lastForm("/token").contains("scope=openid%20email"))
    }

    /// A scope with a space is invalid_parameter and never reaches the OP.
    @Test func refresh_scopeWithSpace_isInvalidParameter() async throws {
        let fixture = try await TokenCommandsFixture()
        let before = fixture.harness.op.requests(to: "/token").count
        #expect(await fixture.refresh(fixture.refreshToken, scope: ["a b"]).errorCode == "invalid_parameter")
        #expect(fixture.harness.op.requests(to: "/token").count == before)
    }

    /// An empty refresh token is invalid_parameter; a missing one missing_parameter.
    @Test func refresh_emptyOrMissingToken_isRefused() async throws {
        let fixture = try await TokenCommandsFixture()
        #expect(await fixture.refresh("").errorCode == "invalid_parameter")
        #expect(await fixture.send("get_access_token_by_refresh_token").errorCode == "missing_parameter")
    }

    /// An unknown site is unknown_site.
    @Test func refresh_unknownSite_isUnknownSite() async throws {
        let fixture = try await TokenCommandsFixture()
        let response = await fixture.send("get_access_token_by_refresh_token",
                                          ["oxd_id": .string("nope"), "refresh_token": .string("rt")])
        #expect(response.errorCode == "unknown_site")
    }

    /// A refresh token the OP refuses (here: already rotated away) is op_error.
    @Test func refresh_refusedByTheOP_isOPError() async throws {
        let fixture = try await TokenCommandsFixture()
        #expect(await fixture.refresh(fixture.refreshToken).isOK)
        #expect(await fixture.refresh(fixture.refreshToken).errorCode == "op_error")
    }

    /// A new ID token of the same user is validated and its claims returned.
    @Test func refresh_newIDTokenOfTheSameUser_isReturnedWithClaims() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.service.issuesIDTokenOnRefresh = true
        let response = await fixture.refresh(fixture.refreshToken)
        #expect(response.isOK)
        #expect(response.data["id_token"]?.stringValue != nil)
        #expect(response.data["id_token_claims"]?.objectValue?["sub"] == .string("alice"))
    }

    /// A new ID token for another user is id_token_invalid (OIDC Core 12.2).
    @Test func refresh_newIDTokenWithAnotherSubject_isIDTokenInvalid() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.service.issuesIDTokenOnRefresh = true
        fixture.service.idTokenClaimEdits = { $0["sub"] = .string("mallory") }
        #expect(await fixture.refresh(fixture.refreshToken).errorCode == "id_token_invalid")
    }

    /// A new ID token from another issuer is id_token_invalid.
    @Test func refresh_newIDTokenWithAnotherIssuer_isIDTokenInvalid() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.service.issuesIDTokenOnRefresh = true
        fixture.service.idTokenClaimEdits = { $0["iss"] = .string("https://evil.example") }
        #expect(await fixture.refresh(fixture.refreshToken).errorCode == "id_token_invalid")
    }

    /// A new ID token whose aud lacks the client is id_token_invalid.
    @Test func refresh_newIDTokenForAnotherAudience_isIDTokenInvalid() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.service.issuesIDTokenOnRefresh = true
        fixture.service.idTokenClaimEdits = { $0["aud"] = .string("another-client") }
        #expect(await fixture.refresh(fixture.refreshToken).errorCode == "id_token_invalid")
    }

    /// A refresh token relyd did not issue has no known user: a valid new ID token is accepted as it is.
    @Test func refresh_ofAnUnknownRefreshToken_acceptsAValidIDToken() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.service.addRefreshToken("rt-from-elsewhere", subject: "bob")
        fixture.service.issuesIDTokenOnRefresh = true
        let response = await fixture.refresh("rt-from-elsewhere")
        #expect(response.data["id_token_claims"]?.objectValue?["sub"] == .string("bob"))
    }

    /// The original user follows rotation: after one refresh, the rotated token's ID token must still be alice's.
    @Test func refresh_subjectBindingFollowsRotation() async throws {
        let fixture = try await TokenCommandsFixture()
        let first = await fixture.refresh(fixture.refreshToken)
        let rotated = try #require(first.data["refresh_token"]?.stringValue)
        fixture.service.issuesIDTokenOnRefresh = true
        fixture.service.idTokenClaimEdits = { $0["sub"] = .string("mallory") }
        #expect(await fixture.refresh(rotated).errorCode == "id_token_invalid")
    }

    /// The refreshed access token is bound to the user: userinfo for another sub is userinfo_invalid.
    @Test func refresh_bindsTheNewAccessTokenToTheUser() async throws {
        let fixture = try await TokenCommandsFixture()
        let response = await fixture.refresh(fixture.refreshToken)
        let accessToken = try #require(response.data["access_token"]?.stringValue)
        fixture.harness.op.override(path: "/userinfo") { _ in FakeOP.json(["sub": .string("mallory")]) }
        let userInfo = await fixture.send("get_user_info", ["access_token": .string(accessToken)])
        #expect(userInfo.errorCode == "userinfo_invalid")
    }

    /// Twenty concurrent refreshes of one rotating token send one request to the OP and all get the same answer.
    @Test func concurrentRefreshes_ofOneToken_reachTheOPOnce_andShareTheAnswer() async throws {
        let fixture = try await TokenCommandsFixture()
        let gate = RequestGate()
        fixture.service.tokenGate = gate
        let before = fixture.harness.op.requests(to: "/token").count
        let token = fixture.refreshToken
        let answers = await gate.overlappingCalls(20) { await fixture.refresh(token).raw }
        #expect(fixture.harness.op.requests(to: "/token").count == before + 1)
        #expect(Set(answers).count == 1)
        #expect(answers.first?.contains("\"status\":\"ok\"") == true)
    }
}
