import Foundation
import RelydClient
import RelydProtocol
import Testing

/// client_secret_jwt (RFC 7523) against the real Glewlwyd: the shared OPs do not support private_key_jwt, which is
/// covered against FakeOP in RelydCommandsTests/JWTClientAuthenticationTests.
@Suite(.serialized) struct JWTClientAuthenticationEndToEndTests {
    /// A site registered dynamically with client_secret_jwt logs in through the real daemon; the token request is
    /// authenticated by an assertion, and neither the secret nor the assertion reaches the daemon's log.
    @Test func glewlwyd_clientSecretJWT_dynamicRegistration_login() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        let site = try await client.send(RegisterSite.self, .init(
            opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI,
            clientName: "relyd-it-jwt", tokenEndpointAuthMethod: "client_secret_jwt"))
        try await EndToEndLoginTests().loginFlow(client: client, op: stack.op, oxdID: site.oxdID)
        #expect(try await client.send(GetJWKS.self, .init(oxdID: site.oxdID)).keys.isEmpty)
        #expect(stack.daemon.terminate() == 0)
        #expect(!stack.daemon.log.contains("client_assertion"))
    }
}
