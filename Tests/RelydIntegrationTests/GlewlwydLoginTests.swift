import Foundation
import RelydClient
import RelydProtocol
import Testing

/// The real relyd binary against Glewlwyd over HTTPS: the four oxD commands end to end, a kill -9 and restart,
/// and a pre-registered ES256 client. Serialized: each test owns one OP and one daemon.
@Suite(.serialized) struct GlewlwydLoginTests {
    /// Runs get_authorization_url, the user's login, get_tokens_by_code and get_user_info for a site.
    func loginFlow(client: RelydClient, op: Glewlwyd, oxdID: String) async throws -> GetTokensByCode.Result {
        let authorization = try await client.send(GetAuthorizationURL.self, .init(oxdID: oxdID))
        let redirect = try op.login(authorization.authorizationURL)
        let code = try #require(redirect["code"], "login produced no code: \(redirect)")
        #expect(redirect["state"] == authorization.state)
        let tokens = try await client.send(GetTokensByCode.self, .init(
            oxdID: oxdID, code: code, state: authorization.state, iss: redirect["iss"]))
        #expect(tokens.idTokenClaims["sub"]?.stringValue?.isEmpty == false)
        #expect(tokens.idTokenClaims["iss"]?.stringValue == op.fixture.issuer)
        let userInfo = try await client.send(GetUserInfo.self, .init(oxdID: oxdID, accessToken: tokens.accessToken))
        #expect(userInfo.claims["sub"] == tokens.idTokenClaims["sub"])

        // The same state cannot be redeemed twice.
        do {
            _ = try await client.send(GetTokensByCode.self, .init(oxdID: oxdID, code: code, state: authorization.state))
            Issue.record("a redeemed state was accepted again")
        } catch {
            #expect(error.code == "invalid_state")
        }
        return tokens
    }

    /// Dynamic registration and a full login work; the site survives kill -9 and a restart of the daemon.
    @Test func dynamicRegistration_fullFlow_survivesKill9() async throws {
        let directory = try TemporaryDirectory()
        let op = try Glewlwyd(runRoot: directory.url.appendingPathComponent("op"))
        defer { op.stop() }
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "ca_file = \(op.fixture.ca_file)")

        let client = RelydClient(socketPath: daemon.socketPath)
        let site = try await client.send(RegisterSite.self, .init(
            opHost: op.fixture.issuer, authorizationRedirectURI: op.fixture.redirect_uris[0], clientName: "relyd-it"))
        #expect(site.opHost == op.fixture.issuer)
        _ = try await loginFlow(client: client, op: op, oxdID: site.oxdID)
        client.close()

        daemon.kill9()
        try daemon.start()
        let restarted = RelydClient(socketPath: daemon.socketPath)
        defer { restarted.close() }
        _ = try await loginFlow(client: restarted, op: op, oxdID: site.oxdID)
        #expect(daemon.terminate() == 0)

        // Nothing secret reached the log.
        let log = daemon.log
        #expect(!log.contains("alice-password"))
        #expect(!log.contains("code_verifier"))
    }

    /// A pre-registered client whose ID tokens are signed ES256 logs in.
    @Test func preRegisteredES256Client_fullFlow() async throws {
        let directory = try TemporaryDirectory()
        let op = try Glewlwyd(runRoot: directory.url.appendingPathComponent("op"))
        defer { op.stop() }
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "ca_file = \(op.fixture.ca_file)")
        let client = RelydClient(socketPath: daemon.socketPath)
        defer { client.close() }
        let es256 = try #require(op.fixture.clients["es256"])
        let site = try await client.send(RegisterSite.self, .init(
            opHost: op.fixture.issuer, authorizationRedirectURI: op.fixture.redirect_uris[0],
            idTokenSignedResponseAlg: "ES256", clientID: es256.client_id, clientSecret: es256.client_secret))
        #expect(site.clientID == es256.client_id)
        let tokens = try await loginFlow(client: client, op: op, oxdID: site.oxdID)
        let header = try #require(tokens.idToken.split(separator: ".").first)
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let decoded = try JSONDecoder().decode([String: JSONValue].self, from: Data(base64Encoded: base64) ?? Data())
        #expect(decoded["alg"] == .string("ES256"))
    }

    /// Without the test CA the OP's certificate is not trusted: op_unreachable, and the daemon keeps serving.
    @Test func untrustedCertificate_isOPUnreachable() async throws {
        let directory = try TemporaryDirectory()
        let op = try Glewlwyd(runRoot: directory.url.appendingPathComponent("op"))
        defer { op.stop() }
        let daemon = try RelydDaemon(in: directory.url)
        let client = RelydClient(socketPath: daemon.socketPath)
        defer { client.close() }
        do {
            _ = try await client.send(RegisterSite.self, .init(
                opHost: op.fixture.issuer, authorizationRedirectURI: op.fixture.redirect_uris[0]))
            Issue.record("an untrusted certificate was accepted")
        } catch {
            #expect(error.code == "op_unreachable")
        }
        #expect(try await client.send(Health.self, NoParameters()).status == "ok")
    }
}
