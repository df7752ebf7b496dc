import Foundation
import RelydProtocol
import RelydStore
import RelydTestSupport
import Testing

/// Transparent re-registration of dynamically registered sites whose client secret has expired.
@Suite struct SiteRenewalTests {
    let harness = DispatcherHarness()
    let registry: FakeClientRegistry

    init() {
        registry = FakeClientRegistry(op: harness.op, clock: harness.clock)
        registry.secretLifetime = 3600
    }

    func stored(_ oxdID: String) async throws -> Site {
        try #require(try await harness.store.site(id: oxdID))
    }

    func loginSucceeds(_ oxdID: String) async throws -> Bool {
        let (code, state) = try await harness.login(oxdID: oxdID)
        return await harness.send("get_tokens_by_code",
                                  ["oxd_id": .string(oxdID), "code": .string(code), "state": .string(state)]).isOK
    }

    /// Before expiry nothing is renewed; get_site reports the expiry in unix seconds.
    @Test func beforeExpiry_theSiteIsUsedAsItIs() async throws {
        let oxdID = try await harness.registerSite()
        harness.clock.advance(by: 3599)
        #expect(try await loginSucceeds(oxdID))
        #expect(harness.op.requests.allSatisfy { !$0.url.path.hasPrefix("/register/") })
        let site = await harness.send("get_site", ["oxd_id": .string(oxdID)])
        #expect(site.data["client_secret_expires_at"] == .integer(1_700_000_000 + 3600))
    }

    /// After expiry, the next command reads the registration (RFC 7592) and keeps the rotated secret; the site
    /// keeps its oxd_id and client_id, and the login works with the new secret.
    @Test func afterExpiry_readsTheRotatedSecret() async throws {
        registry.rotatesOnRead = true
        let oxdID = try await harness.registerSite()
        let before = try await stored(oxdID)
        harness.clock.advance(by: 3601)
        #expect(try await loginSucceeds(oxdID))
        let after = try await stored(oxdID)
        let read = try #require(harness.op.requests(to: "/register/\(before.clientID)").first)
        #expect(read.method == .get)
        #expect(read.headers.contains { $0.0 == "Authorization" && $0.1 == "Bearer rat-\(before.clientID)" })
        #expect(after.clientID == before.clientID)
        #expect(after.clientSecret?.revealed == registry.record(before.clientID)?.secret)
        #expect(after.clientSecret != before.clientSecret)
        #expect(try #require(after.clientSecretExpiresAt) > harness.clock.now())
        #expect(harness.op.requests(to: "/register").count == 1)
        #expect(harness.logs.text.contains("site re-registered"))
    }

    /// When the read still answers an expired secret, the client is registered anew with the same metadata; the
    /// oxd_id stays.
    @Test func afterExpiry_withoutRotation_registersAnew() async throws {
        let oxdID = try await harness.registerSite(["client_name": .string("kept")])
        let before = try await stored(oxdID)
        harness.clock.advance(by: 7200)
        #expect(try await loginSucceeds(oxdID))
        let after = try await stored(oxdID)
        #expect(harness.op.requests(to: "/register").count == 2)
        #expect(after.clientID != before.clientID)
        #expect(after.id == oxdID)
        #expect(after.clientName == "kept")
        #expect(after.registrationClientURI == harness.op.issuer + "/register/" + after.clientID)
    }

    /// A refused read (for example a revoked registration access token) also falls back to a new registration.
    @Test func afterExpiry_whenTheReadIsRefused_registersAnew() async throws {
        let oxdID = try await harness.registerSite()
        let before = try await stored(oxdID)
        harness.op.override(path: "/register/\(before.clientID)", OPFailure.refused.respond)
        harness.clock.advance(by: 3601)
        #expect(try await loginSucceeds(oxdID))
        #expect(try await stored(oxdID).clientID != before.clientID)
    }

    /// When the OP cannot be reached, the command fails with op_unreachable and the site is unchanged.
    @Test func afterExpiry_whenTheOPIsUnreachable_failsAndKeepsTheSite() async throws {
        let oxdID = try await harness.registerSite()
        let before = try await stored(oxdID)
        harness.op.override(path: "/register/\(before.clientID)", OPFailure.unreachable.respond)
        harness.clock.advance(by: 3601)
        let response = await harness.send("get_authorization_url", ["oxd_id": .string(oxdID)])
        #expect(response.errorCode == "op_unreachable")
        #expect(try await stored(oxdID) == before)
    }

    /// Concurrent commands for an expired site trigger one renewal.
    @Test func concurrentCommands_renewOnce() async throws {
        registry.rotatesOnRead = true
        let oxdID = try await harness.registerSite()
        let clientID = try await stored(oxdID).clientID
        harness.clock.advance(by: 3601)
        let harness = self.harness
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { await harness.send("get_authorization_url", ["oxd_id": .string(oxdID)]).isOK }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
        #expect(harness.op.requests(to: "/register/\(clientID)").count == 1)
    }

    /// A pre-registered site is never renewed, whatever its stored expiry.
    @Test func preRegisteredSite_isNeverRenewed() async throws {
        harness.op.addClient(id: "pre", secret: "pre-secret", redirectURIs: ["https://rp.example/callback"])
        let oxdID = try await harness.registerSite(["client_id": .string("pre"), "client_secret": .string("pre-secret")])
        var site = try await stored(oxdID)
        site.clientSecretExpiresAt = harness.clock.now()
        _ = try await harness.store.updateSite(site)
        harness.clock.advance(by: 10)
        #expect(try await loginSucceeds(oxdID))
        #expect(harness.op.requests.allSatisfy { !$0.url.path.hasPrefix("/register") })
    }
}
