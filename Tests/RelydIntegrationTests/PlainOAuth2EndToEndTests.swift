import Foundation
import RelydClient
import RelydProtocol
import Testing

/// The real relyd binary against a real provider used as plain OAuth 2.0: Glewlwyd's endpoints given explicitly,
/// its pre-registered client, scopes without `openid`, so no discovery and no ID token.
@Suite(.serialized) struct PlainOAuth2EndToEndTests {
    /// Register with explicit endpoints, log in, redeem the code without an ID token, and read the user endpoint.
    @Test func glewlwyd_asPlainOAuth2Provider_codeFlowAndUserInfo() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        try stack.op.allowPlainOAuth2Requests()
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let rs256 = try #require(stack.op.fixture.clients["rs256"])
        let issuer = stack.op.fixture.issuer
        let site = try await client.registerSite(
            opHost: issuer, authorizationRedirectURI: stack.op.fixture.redirectURI, scope: ["profile"],
            clientID: rs256.client_id, clientSecret: rs256.client_secret,
            authorizationEndpoint: issuer + "/auth", tokenEndpoint: issuer + "/token",
            userinfoEndpoint: issuer + "/userinfo")

        let authorization = try await client.authorizationURL(oxdID: site.oxdID)
        let query = URLComponents(string: authorization.authorizationURL)?.queryItems ?? []
        #expect(query.first { $0.name == "scope" }?.value == "profile")
        #expect(!query.contains { $0.name == "nonce" })
        let redirect = try stack.op.login(authorization.authorizationURL)
        let code = try #require(redirect["code"], "login produced no code: \(redirect)")
        #expect(redirect["state"] == authorization.state)

        let before = Int64(Date().timeIntervalSince1970)
        let tokens = try await client.tokensByCode(oxdID: site.oxdID, code: code, state: authorization.state)
        #expect(tokens.idToken == nil)
        #expect(tokens.idTokenClaims == nil)
        #expect(tokens.scope == ["profile"])
        let expiresIn = try #require(tokens.expiresIn)
        let expiresAt = try #require(tokens.expiresAt)
        #expect(expiresAt >= before + Int64(expiresIn) && expiresAt <= before + Int64(expiresIn) + 60)

        let userInfo = try await client.userInfo(oxdID: site.oxdID, accessToken: tokens.accessToken)
        #expect(userInfo.claims["sub"]?.stringValue?.isEmpty == false)
        #expect(userInfo.claims["name"] != nil)
        #expect(stack.daemon.terminate() == 0)
    }
}
