import Foundation
import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydTestSupport
import Testing

/// get_client_token: the client credentials grant and its in-memory cache.
@Suite struct ClientTokenTests {
    func clientToken(_ fixture: TokenCommandsFixture, scope: [String]? = nil) async -> DispatcherHarness.Response {
        await fixture.send("get_client_token", scope.map { ["scope": .array($0.map(JSONValue.string))] } ?? [:])
    }

    func tokenRequests(_ fixture: TokenCommandsFixture) -> Int {
        fixture.harness.op.requests(to: "/token").filter {
            String(decoding: $0.body ?? Data(), as: UTF8.self).contains("grant_type=client_credentials")
        }.count
    }

    /// The grant is client_credentials with client authentication and the scope; the answer carries the scope.
    @Test func clientToken_sendsTheGrant_andReturnsTheToken() async throws {
        let fixture = try await TokenCommandsFixture()
        let response = await clientToken(fixture, scope: ["api.read", "api.write"])
        #expect(response.isOK)
        #expect(response.data["token_type"] == .string("Bearer"))
        #expect(response.data["expires_in"] == .integer(600))
        let now = Int64(fixture.harness.clock.now().timeIntervalSince1970)
        #expect(response.data["expires_at"] == .integer(now + 600))
        #expect(response.data["scope"] == .array([.string("api.read"), .string("api.write")]))
        let request = try #require(fixture.harness.op.requests(to: "/token").last)
        #expect(fixture.lastForm("/token").contains("scope=api.read%20api.write"))
        #expect(request.headers.contains { $0.0 == "Authorization" && $0.1.hasPrefix("Basic ") })
    }

    /// A second call while the token is fresh is answered from the cache with the remaining lifetime.
    @Test func clientToken_isCached_withTheRemainingLifetime() async throws {
        let fixture = try await TokenCommandsFixture()
        let first = await clientToken(fixture, scope: ["a", "b"])
        fixture.harness.clock.advance(by: 100)
        let second = await clientToken(fixture, scope: ["b", "a", "a"])
        #expect(second.data["access_token"] == first.data["access_token"])
        #expect(second.data["expires_in"] == .integer(500))
        #expect(tokenRequests(fixture) == 1)
    }

    /// Shortly before expiry (10 %, at least 30 s) the next call gets a new token.
    @Test func clientToken_nearExpiry_isRenewed() async throws {
        let fixture = try await TokenCommandsFixture()
        let first = await clientToken(fixture)
        fixture.harness.clock.advance(by: 539)
        #expect(await clientToken(fixture).data["access_token"] == first.data["access_token"])
        fixture.harness.clock.advance(by: 1)
        #expect(await clientToken(fixture).data["access_token"] != first.data["access_token"])
        #expect(tokenRequests(fixture) == 2)
    }

    /// Different scope sets and different sites get different tokens.
    @Test func clientToken_isCachedPerScopeSet() async throws {
        let fixture = try await TokenCommandsFixture()
        let read = await clientToken(fixture, scope: ["read"])
        let write = await clientToken(fixture, scope: ["write"])
        #expect(read.data["access_token"] != write.data["access_token"])
        #expect(tokenRequests(fixture) == 2)
    }

    /// A token without expires_in is not cached.
    @Test func clientToken_withoutExpiresIn_isNotCached() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.service.expiresIn = nil
        _ = await clientToken(fixture)
        let second = await clientToken(fixture)
        #expect(second.isOK)
        #expect(second.data["expires_in"] == nil)
        #expect(tokenRequests(fixture) == 2)
    }

    /// Concurrent calls for the same scopes send one request and get one token.
    @Test func concurrentClientTokenCalls_reachTheOPOnce() async throws {
        let fixture = try await TokenCommandsFixture()
        let gate = RequestGate()
        fixture.service.tokenGate = gate
        let tokens = await gate.overlappingCalls(10) { await clientToken(fixture, scope: ["api"]).data["access_token"] }
        #expect(Set(tokens.map { $0?.stringValue ?? "" }).count == 1)
        #expect(tokens.first??.stringValue != nil)
        #expect(tokenRequests(fixture) == 1)
    }

    /// A revoked client token is never handed out again from the cache.
    @Test func revokedClientToken_leavesTheCache() async throws {
        let fixture = try await TokenCommandsFixture()
        let first = try #require(await clientToken(fixture).data["access_token"])
        #expect(await fixture.send("revoke_token", ["token": first]).isOK)
        #expect(await clientToken(fixture).data["access_token"] != first)
        #expect(tokenRequests(fixture) == 2)
    }

    /// A client token is kept in memory only: the store holds no record of it.
    @Test func clientToken_isNeverStored() async throws {
        let fixture = try await TokenCommandsFixture()
        let token = try #require(await clientToken(fixture).data["access_token"]?.stringValue)
        let binding = try await fixture.harness.store.tokenBinding(
            accessTokenHash: try AccessTokenHash.of(Secret(token)), now: fixture.harness.clock.now())
        #expect(binding == nil)
    }

    /// The OP's refusal is op_error; an invalid scope is invalid_parameter without an OP call.
    @Test func clientToken_errors() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.harness.op.override(path: "/token") { _ in
            FakeOP.json(["error": .string("unauthorized_client")], status: 400)
        }
        #expect(await clientToken(fixture).errorCode == "op_error")
        #expect(await clientToken(fixture, scope: ["bad\"scope"]).errorCode == "invalid_parameter")
        #expect(await clientToken(fixture, scope: [""]).errorCode == "invalid_parameter")
        #expect(await fixture.send("get_client_token", ["oxd_id": .string("nope")]).errorCode == "unknown_site")
    }
}
