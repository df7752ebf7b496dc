import Foundation
import RelydClient
import RelydProtocol
import Testing

/// The token commands of the real relyd against real OPs: refresh on both (Glewlwyd without, oidc-provider-mock
/// with a new ID token), introspection and revocation on Glewlwyd, and the client credentials grant that the
/// Glewlwyd fixture does not enable. Serialized: each test owns one OP and one daemon.
@Suite(.serialized) struct TokenCommandsIntegrationTests {
    /// Registers a site that may refresh, logs alice in, and returns the site and its tokens.
    func loggedIn(_ stack: EndToEndStack, client: RelydClient) async throws
        -> (oxdID: String, tokens: GetTokensByCode.Result)
    {
        let site = try await client.send(RegisterSite.self, .init(
            opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI,
            scope: ["openid", "profile", "email", "offline_access"], clientName: "relyd-tokens-it",
            grantTypes: ["authorization_code", "refresh_token"]))
        let authorization = try await client.send(GetAuthorizationURL.self, .init(oxdID: site.oxdID))
        let redirect = try stack.op.login(authorization.authorizationURL)
        let code = try #require(redirect["code"], "login produced no code: \(redirect)")
        let tokens = try await client.send(GetTokensByCode.self, .init(
            oxdID: site.oxdID, code: code, state: authorization.state, iss: redirect["iss"]))
        return (site.oxdID, tokens)
    }

    /// Glewlwyd: refresh (no new ID token), check_id_token, introspection, revocation, and afterwards the revoked
    /// token is inactive; its fixture disables the client credentials grant, which relyd reports as op_error.
    @Test func glewlwyd_refresh_checkIDToken_introspect_revoke() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let (oxdID, tokens) = try await loggedIn(stack, client: client)
        let idToken = try #require(tokens.idToken)
        let claims = try #require(tokens.idTokenClaims)
        let refreshToken = try #require(tokens.refreshToken, "Glewlwyd issued no refresh token")

        let refreshed = try await client.accessTokenByRefreshToken(oxdID: oxdID, refreshToken: refreshToken)
        #expect(!refreshed.accessToken.isEmpty)
        #expect(refreshed.idToken == nil)
        let userInfo = try await client.userInfo(oxdID: oxdID, accessToken: refreshed.accessToken)
        #expect(userInfo.claims["sub"] == claims["sub"])

        let checked = try await client.checkIDToken(
            oxdID: oxdID, idToken: idToken, nonce: claims["nonce"]?.stringValue,
            accessToken: tokens.accessToken)
        #expect(checked.valid)
        #expect(checked.claims["sub"] == claims["sub"])
        do {
            _ = try await client.checkIDToken(oxdID: oxdID, idToken: idToken, nonce: "another nonce")
            Issue.record("a wrong nonce was accepted")
        } catch {
            #expect(error.code == "id_token_invalid")
        }

        let before = try await client.introspect(oxdID: oxdID, token: refreshed.accessToken,
                                                 tokenTypeHint: "access_token")
        #expect(before.active)
        let revoked = try await client.revoke(oxdID: oxdID, token: refreshed.accessToken, tokenTypeHint: "access_token")
        #expect(revoked.revoked)
        let after = try await client.introspect(oxdID: oxdID, token: refreshed.accessToken)
        #expect(!after.active)

        do {
            _ = try await client.clientToken(oxdID: oxdID)
            Issue.record("the Glewlwyd fixture granted client credentials")
        } catch {
            #expect(error.code == "op_error")
        }
        #expect(!stack.daemon.log.contains(refreshToken))
    }

    /// oidc-provider-mock: a refresh returns a new ID token, validated and of the same user; the next refresh
    /// uses the refresh token the first returned. The OP offers no introspection: op_unsupported.
    @Test func oidcMock_refreshWithNewIDToken() async throws {
        let stack = try EndToEndStack(.oidcMock)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let (oxdID, tokens) = try await loggedIn(stack, client: client)
        _ = try #require(tokens.idToken, "the code flow returned no ID token")
        let claims = try #require(tokens.idTokenClaims)
        let refreshToken = try #require(tokens.refreshToken, "oidc-provider-mock issued no refresh token")

        let first = try await client.accessTokenByRefreshToken(oxdID: oxdID, refreshToken: refreshToken)
        #expect(first.idToken != nil)
        #expect(first.idTokenClaims?["sub"] == claims["sub"])
        #expect(first.idTokenClaims?["iss"] == claims["iss"])
        let second = try await client.accessTokenByRefreshToken(oxdID: oxdID, refreshToken: first.refreshToken)
        #expect(second.idTokenClaims?["sub"] == claims["sub"])

        do {
            _ = try await client.introspect(oxdID: oxdID, token: second.accessToken)
            Issue.record("introspection without an introspection_endpoint succeeded")
        } catch {
            #expect(error.code == "op_unsupported")
        }
    }
}
