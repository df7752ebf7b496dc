import Foundation
import RelydHTTP
import RelydProtocol
import RelydTestSupport
import Testing

/// register_site, get_tokens_by_code and get_jwks with client_secret_jwt and private_key_jwt, against a FakeOP
/// whose token endpoint accepts only verified JWT client assertions (private_key_jwt is supported by none of the
/// shared real OPs, so this is where it is covered end to end).
@Suite struct JWTClientAuthenticationTests {
    let harness = DispatcherHarness()
    let endpoint: AssertionTokenEndpoint
    let redirectURI = "https://rp.example/callback"

    init() throws {
        endpoint = try AssertionTokenEndpoint(op: harness.op, clock: harness.clock)
    }

    func redeem(_ oxdID: String, _ code: String, _ state: String) async -> DispatcherHarness.Response {
        await harness.send("get_tokens_by_code",
                           ["oxd_id": .string(oxdID), "code": .string(code), "state": .string(state)])
    }

    func register(_ extra: [String: JSONValue]) async -> DispatcherHarness.Response {
        var params: [String: JSONValue] = [
            "op_host": .string(harness.op.issuer), "authorization_redirect_uri": .string(redirectURI),
        ]
        params.merge(extra) { $1 }
        return await harness.send("register_site", params)
    }

    /// A pre-registered client_secret_jwt client logs in; the token request carries an assertion, not the secret.
    @Test func clientSecretJWT_login_succeeds_withoutSendingTheSecret() async throws {
        let secret = "pre-registered-secret-0123456789abcdef"
        harness.op.addClient(id: "rp-jwt", secret: secret, redirectURIs: [redirectURI], authMethod: "client_secret_jwt")
        endpoint.setKey(.secret(secret), for: "rp-jwt")
        let registered = await register(["client_id": .string("rp-jwt"), "client_secret": .string(secret),
                                         "token_endpoint_auth_method": .string("client_secret_jwt")])
        let oxdID = try #require(registered.data["oxd_id"]?.stringValue)
        let (code, state) = try await endpoint.login(harness, oxdID: oxdID)
        let tokens = await redeem(oxdID, code, state)
        #expect(tokens.isOK, "\(tokens.raw)")
        #expect(tokens.data["id_token_claims"]?.objectValue?["sub"] == .string("alice"))
        let request = try #require(harness.op.requests(to: "/token").first)
        let body = String(decoding: request.body ?? Data(), as: UTF8.self)
        #expect(!body.contains(secret) && !body.contains("client_secret="))
        #expect(!request.headers.contains { $0.0.lowercased() == "authorization" })
        #expect(endpoint.assertions.count == 1)
    }

    /// A dynamically registered private_key_jwt site (RS256 or ES256) registers its public JWKS inline and logs in
    /// with assertions the OP verifies against it; get_jwks returns that same key.
    @Test(arguments: [nil, "RS256", "ES256"] as [String?])
    func privateKeyJWT_dynamicRegistration_login_succeeds(signingAlg: String?) async throws {
        var extra: [String: JSONValue] = ["token_endpoint_auth_method": .string("private_key_jwt")]
        if let signingAlg { extra["signing_alg"] = .string(signingAlg) }
        let registered = await register(extra)
        let oxdID = try #require(registered.data["oxd_id"]?.stringValue, "\(registered.raw)")
        let clientID = try #require(registered.data["client_id"]?.stringValue)
        endpoint.setKey(.registeredJWKS(nil), for: clientID)

        let registration = try #require(harness.op.requests(to: "/register").last?.body)
        let document = try JSONDecoder().decode([String: JSONValue].self, from: registration)
        #expect(document["token_endpoint_auth_method"] == .string("private_key_jwt"))
        let registeredKeys = try #require(document["jwks"]?.objectValue?["keys"]?.arrayValue)
        let jwks = await harness.send("get_jwks", ["oxd_id": .string(oxdID)])
        #expect(jwks.data["keys"]?.arrayValue == registeredKeys)
        #expect(registeredKeys.first?.objectValue?["alg"] == .string(signingAlg ?? "RS256"))

        let (code, state) = try await endpoint.login(harness, oxdID: oxdID)
        let tokens = await redeem(oxdID, code, state)
        #expect(tokens.isOK, "\(tokens.raw)")
        let body = String(decoding: harness.op.requests(to: "/token").first?.body ?? Data(), as: UTF8.self)
        #expect(!body.contains("client_secret"))
    }

    /// A pre-registered private_key_jwt client needs no client_secret: its key is published with get_jwks.
    @Test func privateKeyJWT_preRegisteredClient_needsNoSecret() async throws {
        harness.op.addClient(id: "rp-pk", secret: "unused", redirectURIs: [redirectURI], authMethod: "private_key_jwt")
        let registered = await register(["client_id": .string("rp-pk"),
                                         "token_endpoint_auth_method": .string("private_key_jwt"),
                                         "signing_alg": .string("ES256")])
        let oxdID = try #require(registered.data["oxd_id"]?.stringValue, "\(registered.raw)")
        #expect(harness.op.requests(to: "/register").isEmpty)
        let jwks = await harness.send("get_jwks", ["oxd_id": .string(oxdID)])
        endpoint.setKey(.registeredJWKS(jwks.data), for: "rp-pk")
        let (code, state) = try await endpoint.login(harness, oxdID: oxdID)
        #expect(await redeem(oxdID, code, state).isOK)
    }

    /// An assertion the OP cannot verify (the site's key does not match the one the OP holds) is op_error.
    @Test func privateKeyJWT_withKeyUnknownToTheOP_isOPError() async throws {
        harness.op.addClient(id: "rp-pk", secret: "unused", redirectURIs: [redirectURI])
        let registered = await register(["client_id": .string("rp-pk"),
                                         "token_endpoint_auth_method": .string("private_key_jwt")])
        let oxdID = try #require(registered.data["oxd_id"]?.stringValue)
        endpoint.setKey(.registeredJWKS(["keys": .array([])]), for: "rp-pk")
        let (code, state) = try await endpoint.login(harness, oxdID: oxdID)
        #expect(await redeem(oxdID, code, state).errorCode == "op_error")
    }

    /// get_jwks: the RFC 7517 public members only; an empty set for a secret-based site; unknown_site otherwise.
    @Test func getJWKS_shape() async throws {
        let rsa = try #require(await register(["token_endpoint_auth_method": .string("private_key_jwt")])
            .data["oxd_id"]?.stringValue)
        let rsaKeys = try #require(await harness.send("get_jwks", ["oxd_id": .string(rsa)]).data["keys"]?.arrayValue)
        #expect(rsaKeys.count == 1)
        #expect(Set(rsaKeys.first?.objectValue?.keys.map { $0 } ?? []) == ["kty", "n", "e", "kid", "use", "alg"])
        let ec = try #require(await register(["token_endpoint_auth_method": .string("private_key_jwt"),
                                              "signing_alg": .string("ES256")]).data["oxd_id"]?.stringValue)
        let ecKey = try #require(await harness.send("get_jwks", ["oxd_id": .string(ec)]).data["keys"]?.arrayValue?.first)
        #expect(Set(ecKey.objectValue?.keys.map { $0 } ?? []) == ["kty", "crv", "x", "y", "kid", "use", "alg"])
        #expect(ecKey.objectValue?["use"] == .string("sig") && ecKey.objectValue?["crv"] == .string("P-256"))

        let basic = try await harness.registerSite()
        let empty = await harness.send("get_jwks", ["oxd_id": .string(basic)])
        #expect(empty.isOK && empty.data == ["keys": .array([])])
        #expect(await harness.send("get_jwks", ["oxd_id": .string("nope")]).errorCode == "unknown_site")
        #expect(await harness.send("get_jwks", [:]).errorCode == "missing_parameter")
    }

    /// The private key never appears in any response or log line, in PEM or in its base64 body.
    @Test func privateKey_neverLeavesTheDaemon() async throws {
        var responses: [String] = []
        for alg in ["RS256", "ES256"] {
            let registered = await register(["token_endpoint_auth_method": .string("private_key_jwt"),
                                             "signing_alg": .string(alg)])
            responses.append(registered.raw)
            let oxdID = try #require(registered.data["oxd_id"]?.stringValue)
            endpoint.setKey(.registeredJWKS(nil), for: try #require(registered.data["client_id"]?.stringValue))
            responses.append(await harness.send("get_jwks", ["oxd_id": .string(oxdID)]).raw)
            let (code, state) = try await endpoint.login(harness, oxdID: oxdID)
            responses.append(await redeem(oxdID, code, state).raw)
            let pem = try #require(try await harness.store.site(id: oxdID)?.signingKey?.revealed)
            let bodyLines = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
            #expect(bodyLines.count > 2)
            let sent = harness.op.requests.map { String(decoding: $0.body ?? Data(), as: UTF8.self) }
            for text in responses + sent + [harness.logs.text] {
                #expect(!text.contains("PRIVATE KEY"))
                for line in bodyLines { #expect(!text.contains(line)) }
            }
        }
        #expect(!responses.contains { $0.contains("\"d\"") })
    }

    /// register_site refuses a signing_alg it cannot generate, signing_alg without private_key_jwt, and a missing
    /// client_secret for secret-based methods, before it asks the OP anything (discovery included).
    @Test(arguments: [
        ["token_endpoint_auth_method": "private_key_jwt", "signing_alg": "HS256"],
        ["token_endpoint_auth_method": "private_key_jwt", "signing_alg": "PS256"],
        ["token_endpoint_auth_method": "client_secret_jwt", "signing_alg": "RS256"],
        ["signing_alg": "RS256"],
        ["token_endpoint_auth_method": "client_secret_jwt", "client_id": "rp"],
        ["client_id": "rp"],
        ["token_endpoint_auth_method": "private_key_jwt", "client_secret": "s"],
        ["token_endpoint_auth_method": "tls_client_auth"],
    ] as [[String: String]])
    func badAuthenticationParameters_areInvalidParameter(params: [String: String]) async {
        let response = await register(params.mapValues(JSONValue.string))
        #expect(response.errorCode == "invalid_parameter")
        #expect(harness.op.requests.isEmpty)
    }

    /// An OP that registers private_key_jwt for a client that did not ask for it (so has no key) is refused.
    @Test func opImposingPrivateKeyJWT_isOPResponseInvalid() async {
        harness.op.override(path: "/register") { _ in
            FakeOP.json(["client_id": .string("c"), "token_endpoint_auth_method": .string("private_key_jwt")],
                        status: 201)
        }
        #expect(await register([:]).errorCode == "op_response_invalid")
    }
}
