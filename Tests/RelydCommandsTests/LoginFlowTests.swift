import Foundation
import RelydHTTP
import RelydProtocol
import RelydTestSupport
import Testing

/// The four oxD commands end to end against the in-process fake OP.
@Suite struct LoginFlowTests {
    let harness = DispatcherHarness()

    /// Dynamic registration, authorization URL, code exchange and userinfo succeed, and the ID token's claims are
    /// returned.
    @Test func fullFlow_succeeds() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        let tokens = await harness.send("get_tokens_by_code",
                                        ["oxd_id": .string(oxdID), "code": .string(code), "state": .string(state)])
        #expect(tokens.isOK, "\(tokens.raw)")
        #expect(tokens.data["id_token_claims"]?["sub"] == .string("alice"))
        #expect(tokens.data["token_type"] == .string("Bearer"))
        #expect(tokens.data["refresh_token"]?.stringValue?.isEmpty == false)
        let accessToken = try #require(tokens.data["access_token"])
        let userInfo = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": accessToken])
        #expect(userInfo.isOK, "\(userInfo.raw)")
        #expect(userInfo.data["claims"]?["email"] == .string("alice@example.org"))
    }

    /// register_site sends RFC 7591 metadata and never returns the client secret.
    @Test func registerSite_registersDynamically_andKeepsTheSecret() async throws {
        let response = await harness.send("register_site", [
            "op_host": .string("https://op.example"),
            "authorization_redirect_uri": .string("https://rp.example/callback"),
            "client_name": .string("demo"), "scope": .array([.string("email")]),
        ])
        #expect(response.isOK)
        #expect(Set(response.data.keys) == ["oxd_id", "client_id", "op_host"])
        let registration = try #require(harness.op.requests(to: "/register").first)
        let body = try JSONDecoder().decode([String: JSONValue].self, from: registration.body ?? Data())
        #expect(body["redirect_uris"] == .array([.string("https://rp.example/callback")]))
        #expect(body["scope"] == .string("openid email"))
        #expect(body["client_name"] == .string("demo"))
        let site = try #require(try await harness.store.site(id: response.data["oxd_id"]?.stringValue ?? ""))
        #expect(site.clientSecret?.revealed.hasPrefix("secret-") == true)
        #expect(site.registrationAccessToken != nil)
        #expect(site.isDynamicallyRegistered)
    }

    /// A pre-registered client skips registration.
    @Test func registerSite_withClientID_skipsRegistration() async throws {
        harness.op.addClient(id: "pre", secret: "pre-secret", redirectURIs: ["https://rp.example/callback"])
        let oxdID = try await harness.registerSite(["client_id": .string("pre"), "client_secret": .string("pre-secret")])
        #expect(harness.op.requests(to: "/register").isEmpty)
        let (code, state) = try await harness.login(oxdID: oxdID)
        let tokens = await harness.send("get_tokens_by_code",
                                        ["oxd_id": .string(oxdID), "code": .string(code), "state": .string(state)])
        #expect(tokens.isOK, "\(tokens.raw)")
    }

    /// A discovery document naming another issuer is refused with issuer_mismatch.
    @Test func registerSite_whenIssuerDiffers_failsWithIssuerMismatch() async {
        harness.op.discoveryEdits = { $0["issuer"] = .string("https://evil.example") }
        let response = await harness.send("register_site", [
            "op_host": .string("https://op.example"), "authorization_redirect_uri": .string("https://rp.example/cb"),
        ])
        #expect(response.errorCode == "issuer_mismatch")
    }

    /// An OP without dynamic registration is op_unsupported when no client_id is given, and nothing is posted.
    @Test func registerSite_withoutRegistrationEndpoint_isOPUnsupported() async {
        harness.op.discoveryEdits = { $0["registration_endpoint"] = nil }
        let response = await harness.send("register_site", [
            "op_host": .string("https://op.example"), "authorization_redirect_uri": .string("https://rp.example/cb"),
        ])
        #expect(response.errorCode == "op_unsupported")
        #expect(harness.op.requests(to: "/register").isEmpty)
    }

    /// A plain-http issuer is refused unless loopback http is allowed.
    @Test func registerSite_withHTTPIssuer_isRefused() async {
        let response = await harness.send("register_site", [
            "op_host": .string("http://op.example"), "authorization_redirect_uri": .string("https://rp.example/cb"),
        ])
        #expect(response.errorCode == "invalid_parameter")
        #expect(harness.op.requests.isEmpty)
    }

    /// Bad client input to register_site is refused before any OP call.
    @Test(arguments: [
        ["authorization_redirect_uri": JSONValue.string("/relative")],
        ["authorization_redirect_uri": .string("https://rp.example/cb#frag")],
        ["token_endpoint_auth_method": .string("none")],
        ["client_id": .string("only-id")],
    ])
    func registerSite_withBadInput_failsWithInvalidParameter(extra: [String: JSONValue]) async {
        var params: [String: JSONValue] = [
            "op_host": .string("https://op.example"), "authorization_redirect_uri": .string("https://rp.example/cb"),
        ]
        params.merge(extra) { $1 }
        #expect(await harness.send("register_site", params).errorCode == "invalid_parameter")
        #expect(harness.op.requests.isEmpty)
    }

    /// A discovery document that is not JSON is op_response_invalid; an unreachable OP is op_unreachable.
    @Test func registerSite_withBrokenOP_reportsTheFailure() async {
        harness.op.override(path: "/.well-known/openid-configuration") { _ in HTTPResponse(status: 200, body: Data("<html>".utf8)) }
        let params: [String: JSONValue] = [
            "op_host": .string("https://op.example"), "authorization_redirect_uri": .string("https://rp.example/cb"),
        ]
        #expect(await harness.send("register_site", params).errorCode == "op_response_invalid")
        harness.op.override(path: "/.well-known/openid-configuration") { _ throws(HTTPTransportError) in throw .timedOut("slow") }
        #expect(await harness.send("register_site", params).errorCode == "op_unreachable")
    }

    /// The authorization URL carries S256 PKCE, state, nonce and the site's client id and redirect URI.
    @Test func authorizationURL_carriesStateNonceAndPKCE() async throws {
        let oxdID = try await harness.registerSite()
        let response = await harness.send("get_authorization_url", [
            "oxd_id": .string(oxdID), "acr_values": .array([.string("loa2")]), "prompt": .string("login"),
            "login_hint": .string("alice@example.org"), "custom_parameters": .object(["display": .string("page")]),
        ])
        #expect(response.isOK)
        let url = try #require(URLComponents(string: response.data["authorization_url"]?.stringValue ?? ""))
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        #expect(url.path == "/authorize")
        #expect(query["response_type"] == "code")
        #expect(query["code_challenge_method"] == "S256")
        #expect(query["code_challenge"]?.count == 43)
        #expect(query["state"] == response.data["state"]?.stringValue)
        #expect(query["nonce"]?.count == 43)
        #expect(query["scope"] == "openid profile email")
        #expect(query["redirect_uri"] == "https://rp.example/callback")
        #expect(query["acr_values"] == "loa2")
        #expect(query["prompt"] == "login")
        #expect(query["login_hint"] == "alice@example.org")
        #expect(query["display"] == "page")
    }

    /// Custom parameters cannot override what relyd controls.
    @Test(arguments: ["state", "nonce", "code_challenge", "client_id", "redirect_uri", "login_hint", "ui_locales",
                      "claims", "response_mode"])
    func authorizationURL_refusesReservedCustomParameter(name: String) async throws {
        let oxdID = try await harness.registerSite()
        let response = await harness.send("get_authorization_url", [
            "oxd_id": .string(oxdID), "custom_parameters": .object([name: .string("x")]),
        ])
        #expect(response.errorCode == "invalid_parameter")
    }

    /// An unknown oxd_id is unknown_site.
    @Test func unknownSite_isRejected() async {
        #expect(await harness.send("get_authorization_url", ["oxd_id": .string("nope")]).errorCode == "unknown_site")
    }
}
