import Foundation
import RelydProtocol
import RelydTestSupport
import Testing

/// check_id_token: the code flow's ID token validation for a token the app holds.
@Suite struct CheckIDTokenTests {
    func check(_ fixture: TokenCommandsFixture, _ params: [String: JSONValue]) async -> DispatcherHarness.Response {
        var all = params
        all["id_token"] = all["id_token"] ?? .string(fixture.idToken)
        return await fixture.send("check_id_token", all)
    }

    /// The login's ID token is valid, with its nonce and access token; its claims come back.
    @Test func loginIDToken_isValid() async throws {
        let fixture = try await TokenCommandsFixture()
        let nonce = try #require(fixture.login["id_token_claims"]?.objectValue?["nonce"])
        let response = await check(fixture, ["nonce": nonce, "access_token": .string(fixture.accessToken)])
        #expect(response.data["valid"] == .bool(true))
        #expect(response.data["claims"]?.objectValue?["sub"] == .string("alice"))
        #expect(await check(fixture, [:]).isOK)
    }

    /// A different nonce is id_token_invalid.
    @Test func wrongNonce_isIDTokenInvalid() async throws {
        let fixture = try await TokenCommandsFixture()
        #expect(await check(fixture, ["nonce": .string("other")]).errorCode == "id_token_invalid")
    }

    /// An access token that does not match at_hash is id_token_invalid.
    @Test func wrongAccessToken_isIDTokenInvalid() async throws {
        let fixture = try await TokenCommandsFixture()
        #expect(await check(fixture, ["access_token": .string("other")]).errorCode == "id_token_invalid")
    }

    /// An expired token is id_token_invalid.
    @Test func expiredToken_isIDTokenInvalid() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.harness.clock.advance(by: 700)
        #expect(await check(fixture, [:]).errorCode == "id_token_invalid")
    }

    /// Another site's ID token (its aud is the other client) and garbage are id_token_invalid.
    @Test func otherSitesOrMalformedToken_isIDTokenInvalid() async throws {
        let fixture = try await TokenCommandsFixture()
        let other = try await fixture.harness.registerSite()
        #expect(await check(fixture, ["oxd_id": .string(other)]).errorCode == "id_token_invalid")
        #expect(await check(fixture, ["id_token": .string("not.a.jwt")]).errorCode == "id_token_invalid")
        #expect(await check(fixture, ["oxd_id": .string("nope")]).errorCode == "unknown_site")
    }
}
