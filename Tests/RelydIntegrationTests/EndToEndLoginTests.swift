import Foundation
import RelydClient
import RelydProtocol
import Testing

/// The real relyd binary against real OPs: the four oxD commands end to end, a kill -9 and restart, a
/// pre-registered ES256 client, and a second OP code base. Serialized: each test owns one OP and one daemon.
@Suite(.serialized) struct EndToEndLoginTests {
    /// Runs get_authorization_url, the user's login, get_tokens_by_code and get_user_info for a site.
    @discardableResult
    func loginFlow(client: RelydClient, op: OpenIDProvider, oxdID: String) async throws -> GetTokensByCode.Result {
        let authorization = try await client.send(GetAuthorizationURL.self, .init(oxdID: oxdID))
        let redirect = try op.login(authorization.authorizationURL)
        let code = try #require(redirect["code"], "login produced no code: \(redirect)")
        #expect(redirect["state"] == authorization.state)
        let tokens: GetTokensByCode.Result
        do {
            tokens = try await client.send(GetTokensByCode.self, .init(
                oxdID: oxdID, code: code, state: authorization.state, iss: redirect["iss"]))
        } catch {
            // Evidence for a failure that does not reproduce at will: what the OP publishes as its keys now.
            let jwks = (try? run("curl", ["-s"] + (op.fixture.ca_file.map { ["--cacert", $0] } ?? [])
                + [op.fixture.issuer + "/jwks"])) ?? "?"
            Issue.record("get_tokens_by_code failed: \(error)\nOP JWKS now: \(jwks)")
            throw error
        }
        #expect(tokens.idTokenClaims?["sub"]?.stringValue?.isEmpty == false)
        #expect(tokens.idTokenClaims?["iss"]?.stringValue == op.fixture.issuer)
        let userInfo = try await client.send(GetUserInfo.self, .init(oxdID: oxdID, accessToken: tokens.accessToken))
        #expect(userInfo.claims["sub"] == tokens.idTokenClaims?["sub"])

        // The same state cannot be redeemed twice.
        do {
            _ = try await client.send(GetTokensByCode.self, .init(oxdID: oxdID, code: code, state: authorization.state))
            Issue.record("a redeemed state was accepted again")
        } catch {
            #expect(error.code == "invalid_state")
        }
        return tokens
    }

    /// Dynamic registration with Glewlwyd over HTTPS and a full login work; the site survives kill -9 and a
    /// restart of the daemon.
    @Test func glewlwyd_dynamicRegistration_survivesKill9() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        let site = try await client.send(RegisterSite.self, .init(
            opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI,
            clientName: "relyd-it"))
        #expect(site.opHost == stack.op.fixture.issuer)
        try await loginFlow(client: client, op: stack.op, oxdID: site.oxdID)
        client.close()

        stack.daemon.kill9()
        try stack.daemon.start()
        let restarted = RelydClient(socketPath: stack.daemon.socketPath)
        defer { restarted.close() }
        try await loginFlow(client: restarted, op: stack.op, oxdID: site.oxdID)
        #expect(stack.daemon.terminate() == 0)
        #expect(!stack.daemon.log.contains(stack.op.fixture.password))
    }

    /// A pre-registered Glewlwyd client whose ID tokens are signed ES256 logs in.
    @Test func glewlwyd_preRegisteredES256Client() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let es256 = try #require(stack.op.fixture.clients["es256"])
        let site = try await client.send(RegisterSite.self, .init(
            opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI,
            idTokenSignedResponseAlg: "ES256", clientID: es256.client_id, clientSecret: es256.client_secret))
        #expect(site.clientID == es256.client_id)
        let tokens = try await loginFlow(client: client, op: stack.op, oxdID: site.oxdID)
        let header = try #require(tokens.idToken?.split(separator: ".").first)
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let decoded = try JSONDecoder().decode([String: JSONValue].self, from: Data(base64Encoded: base64) ?? Data())
        #expect(decoded["alg"] == .string("ES256"))
    }

    /// Without the test CA, Glewlwyd's certificate is not trusted: op_unreachable, and the daemon keeps serving.
    @Test func glewlwyd_untrustedCertificate_isOPUnreachable() async throws {
        let stack = try EndToEndStack(.glewlwyd, trustOP: false)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        do {
            _ = try await client.send(RegisterSite.self, .init(
                opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI))
            Issue.record("an untrusted certificate was accepted")
        } catch {
            #expect(error.code == "op_unreachable")
        }
        #expect(try await client.send(Health.self, NoParameters()).status == "ok")
    }

    /// A second OP code base, oidc-provider-mock over plain http on loopback (allow_http_loopback), registers and
    /// logs in; without that setting its http issuer is refused.
    @Test func oidcMock_overLoopbackHTTP() async throws {
        let stack = try EndToEndStack(.oidcMock)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let site = try await client.send(RegisterSite.self, .init(
            opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI))
        try await loginFlow(client: client, op: stack.op, oxdID: site.oxdID)

        let strict = try RelydDaemon(in: stack.directory.url.appendingPathComponent("strict"))
        let strictClient = RelydClient(socketPath: strict.socketPath)
        defer { strictClient.close() }
        do {
            _ = try await strictClient.send(RegisterSite.self, .init(
                opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI))
            Issue.record("an http issuer was accepted without allow_http_loopback")
        } catch {
            #expect(error.code == "invalid_parameter")
        }
    }
}
