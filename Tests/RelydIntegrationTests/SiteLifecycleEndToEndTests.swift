import Foundation
import RelydClient
import RelydProtocol
import Testing

/// The site lifecycle and OP metadata commands of the real relyd against Glewlwyd, which implements RFC 7592
/// (its update rotates the client secret; its delete answers 200). Serialized: each test owns one OP and one
/// daemon.
@Suite(.serialized) struct SiteLifecycleEndToEndTests {
    /// register → get_site → update_site (RFC 7592 PUT; the rotated secret is kept, so a login with the new
    /// redirect URI works) → list_sites → get_discovery → remove_site (RFC 7592 DELETE) → unknown_site.
    @Test func glewlwyd_updateAndRemoveADynamicSite() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let issuer = stack.op.fixture.issuer
        let registered = try await client.registerSite(
            opHost: issuer, authorizationRedirectURI: stack.op.fixture.redirectURI, clientName: "relyd-it-before")
        let site = try await client.site(oxdID: registered.oxdID)
        #expect(site.clientID == registered.clientID)
        #expect(site.dynamicallyRegistered)
        #expect(site.clientName == "relyd-it-before")

        let newRedirect = "http://localhost:8765/callback-updated"
        let updated = try await client.updateSite(oxdID: registered.oxdID, authorizationRedirectURI: newRedirect,
                                                  clientName: "relyd-it-after")
        #expect(updated.authorizationRedirectURI == newRedirect)
        #expect(updated.clientName == "relyd-it-after")
        #expect(updated.clientID == registered.clientID)
        let authorization = try await client.authorizationURL(oxdID: registered.oxdID)
        #expect(authorization.authorizationURL.contains("callback-updated"))
        try await EndToEndLoginTests().loginFlow(client: client, op: stack.op, oxdID: registered.oxdID)

        #expect(try await client.sites().map(\.oxdID) == [registered.oxdID])
        let discovery = try await client.discovery(oxdID: registered.oxdID)
        #expect(discovery["issuer"] == .string(issuer))
        #expect(discovery["registration_endpoint"]?.stringValue?.isEmpty == false)

        let removed = try await client.removeSite(oxdID: registered.oxdID)
        #expect(removed.opDeregistered)
        do {
            _ = try await client.site(oxdID: registered.oxdID)
            Issue.record("a removed site is still known")
        } catch {
            #expect(error.code == "unknown_site")
        }
        #expect(try await client.sites().isEmpty)
        #expect(stack.daemon.terminate() == 0)
    }

    /// A pre-registered Glewlwyd client is updated and removed locally only: op_deregistered is false.
    @Test func glewlwyd_preRegisteredSite_changesLocallyOnly() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let rs256 = try #require(stack.op.fixture.clients["rs256"])
        let registered = try await client.registerSite(
            opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI,
            clientID: rs256.client_id, clientSecret: rs256.client_secret)
        let updated = try await client.updateSite(oxdID: registered.oxdID, scope: ["email"])
        #expect(updated.scope == ["openid", "email"])
        #expect(!updated.dynamicallyRegistered)
        try await EndToEndLoginTests().loginFlow(client: client, op: stack.op, oxdID: registered.oxdID)
        #expect(try await client.removeSite(oxdID: registered.oxdID).opDeregistered == false)
    }

    /// A daemon whose allowed_op_hosts does not list Glewlwyd refuses it with op_not_allowed; one that lists its
    /// host serves it.
    @Test func glewlwyd_allowedOPHosts() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let strict = try RelydDaemon(in: stack.directory.url.appendingPathComponent("strict"),
                                     extraConfig: stack.op.relydConfig + "\nallowed_op_hosts = op.example, https://idp.example")
        let strictClient = RelydClient(socketPath: strict.socketPath)
        defer { strictClient.close() }
        for attempt in [0, 1] {
            do {
                if attempt == 0 {
                    _ = try await strictClient.registerSite(opHost: stack.op.fixture.issuer,
                                                            authorizationRedirectURI: stack.op.fixture.redirectURI)
                } else {
                    _ = try await strictClient.discovery(opHost: stack.op.fixture.issuer)
                }
                Issue.record("an OP outside allowed_op_hosts was used")
            } catch {
                #expect(error.code == "op_not_allowed")
            }
        }
        #expect(strict.terminate() == 0)

        let allowing = try RelydDaemon(in: stack.directory.url.appendingPathComponent("allowing"),
                                       extraConfig: stack.op.relydConfig + "\nallowed_op_hosts = 127.0.0.1:\(stack.op.port)")
        let allowingClient = RelydClient(socketPath: allowing.socketPath)
        defer { allowingClient.close() }
        #expect(try await allowingClient.discovery(opHost: stack.op.fixture.issuer)["issuer"]
            == .string(stack.op.fixture.issuer))
        #expect(allowing.terminate() == 0)
    }
}
