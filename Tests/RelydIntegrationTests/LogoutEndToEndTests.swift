import Foundation
import RelydClient
import RelydProtocol
import Testing

/// The real relyd binary against Glewlwyd: RP-initiated logout after a real login, and an authorization request
/// with login_hint, ui_locales and claims that the OP accepts through a real login.
@Suite(.serialized) struct LogoutEndToEndTests {
    static let postLogoutRedirectURI = "http://127.0.0.1:8765/logged-out"

    /// Logs alice in through `authorization` and redeems the code; returns the token result.
    func login(client: RelydClient, op: OpenIDProvider, oxdID: String,
               authorization: GetAuthorizationURL.Result) async throws -> GetTokensByCode.Result {
        let redirect = try op.login(authorization.authorizationURL)
        let code = try #require(redirect["code"], "login produced no code: \(redirect)")
        #expect(redirect["state"] == authorization.state)
        return try await client.send(GetTokensByCode.self, .init(
            oxdID: oxdID, code: code, state: authorization.state, iss: redirect["iss"]))
    }

    /// The HTTP status and Location of a plain GET of `url` that trusts the OP's test CA and follows no redirect.
    func get(_ url: String, op: OpenIDProvider) throws -> (status: Int, location: String) {
        let output = try run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"]
            + (op.fixture.ca_file.map { ["--cacert", $0] } ?? []) + [url])
        let parts = output.split(separator: " ", maxSplits: 1).map(String.init)
        return (Int(parts.first ?? "") ?? 0, parts.count > 1 ? parts[1] : "")
    }

    /// After a real login, the logout URL relyd builds (id_token_hint, post-logout redirect, state, client_id) is
    /// accepted by Glewlwyd's end_session endpoint, and another post-logout redirect is refused by relyd.
    @Test func glewlwyd_logoutURIAfterLogin_isAcceptedByTheOP() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let site = try await client.registerSite(
            opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI,
            postLogoutRedirectURI: Self.postLogoutRedirectURI, clientName: "relyd-it-logout")
        let authorization = try await client.authorizationURL(oxdID: site.oxdID)
        let tokens = try await login(client: client, op: stack.op, oxdID: site.oxdID, authorization: authorization)

        let logout = try await client.logoutURI(oxdID: site.oxdID, idTokenHint: tokens.idToken, state: "bye-1")
        let url = try #require(URLComponents(string: logout.uri))
        #expect(logout.uri.hasPrefix(stack.op.fixture.issuer))
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        #expect(query["id_token_hint"] == tokens.idToken)
        #expect(query["post_logout_redirect_uri"] == Self.postLogoutRedirectURI)
        #expect(query["client_id"] == site.clientID)
        #expect(query["state"] == "bye-1")

        let answer = try get(logout.uri, op: stack.op)
        #expect((200..<400).contains(answer.status), "end_session answered \(answer.status) \(answer.location)")
        // Glewlwyd recognised the ID token hint: it asks to end this client's session, where an unusable hint
        // gets its generic single-logout page instead.
        #expect(answer.location.contains("prompt=end_session"), "\(answer.location)")
        #expect(answer.location.contains("client_id=\(site.clientID)"), "\(answer.location)")

        do {
            _ = try await client.logoutURI(oxdID: site.oxdID, postLogoutRedirectURI: "http://127.0.0.1:8765/other")
            Issue.record("another post-logout redirect URI was accepted")
        } catch {
            #expect(error.code == "invalid_parameter")
        }
        #expect(stack.daemon.terminate() == 0)
    }

    /// login_hint, ui_locales and a claims request reach Glewlwyd, which completes the login; the ID token is valid.
    @Test func glewlwyd_authorizationOptions_completeARealLogin() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let site = try await client.registerSite(
            opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI)
        let authorization = try await client.authorizationURL(
            oxdID: site.oxdID, loginHint: stack.op.fixture.user, uiLocales: ["en", "fr"],
            claims: ["id_token": .object(["email": .null]), "userinfo": .object(["email": .null])])
        let query = URLComponents(string: authorization.authorizationURL)?.queryItems ?? []
        #expect(query.contains { $0.name == "login_hint" && $0.value == stack.op.fixture.user })
        #expect(query.contains { $0.name == "ui_locales" && $0.value == "en fr" })
        #expect(query.contains { $0.name == "claims" })
        let tokens = try await login(client: client, op: stack.op, oxdID: site.oxdID, authorization: authorization)
        #expect(tokens.idTokenClaims?["iss"]?.stringValue == stack.op.fixture.issuer)
        #expect(tokens.idTokenClaims?["sub"]?.stringValue?.isEmpty == false)
        #expect(stack.daemon.terminate() == 0)
    }
}
