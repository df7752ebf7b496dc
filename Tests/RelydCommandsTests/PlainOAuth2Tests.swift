import Foundation
import RelydBasics
import RelydHTTP
import RelydOIDC
import RelydProtocol
import RelydStore
import RelydTestSupport
import Testing

/// Plain OAuth 2.0 providers (explicit endpoints, no discovery, no ID tokens), and the `expires_at` and `scope`
/// every token result carries; OpenID Connect sites keep every check.
@Suite struct PlainOAuth2Tests {
    let harness = DispatcherHarness()
    static let provider = "https://github.example"
    static let form = ["content-type": "application/x-www-form-urlencoded"]

    /// Registers a GitHub-style site whose endpoints are served by the fake OP, with a pre-registered client.
    func registerOAuth2Site(_ extra: [String: JSONValue] = [:]) async throws -> String {
        harness.op.addClient(id: "gh-client", secret: "gh-secret", redirectURIs: ["https://rp.example/callback"])
        var params: [String: JSONValue] = [
            "op_host": .string(Self.provider),
            "authorization_endpoint": .string("https://op.example/authorize"),
            "token_endpoint": .string("https://op.example/token"),
            "userinfo_endpoint": .string("https://op.example/userinfo"),
            "client_id": .string("gh-client"), "client_secret": .string("gh-secret"),
            "scope": .array([.string("user:email")]),
        ]
        params.merge(extra) { $1 }
        return try await harness.registerSite(params)
    }

    func redeem(_ oxdID: String, _ code: String, _ state: String) async -> DispatcherHarness.Response {
        await harness.send("get_tokens_by_code",
                           ["oxd_id": .string(oxdID), "code": .string(code), "state": .string(state)])
    }

    /// The whole code flow works without an ID token: no nonce, no added openid, no discovery, no ID token returned.
    @Test func oauth2Site_codeFlow_succeedsWithoutIDTokenOrDiscovery() async throws {
        let oxdID = try await registerOAuth2Site()
        let authorization = await harness.send("get_authorization_url", ["oxd_id": .string(oxdID)])
        let url = try #require(authorization.data["authorization_url"]?.stringValue)
        let query = Dictionary(uniqueKeysWithValues: (URLComponents(string: url)?.queryItems ?? []).map {
            ($0.name, $0.value ?? "")
        })
        #expect(url.hasPrefix("https://op.example/authorize?"))
        #expect(query["scope"] == "user:email")
        #expect(query["nonce"] == nil)
        #expect(query["code_challenge_method"] == "S256")
        let state = try #require(authorization.data["state"]?.stringValue)
        #expect(query["state"] == state)

        let tokens = await redeem(oxdID, try harness.op.authorize(url), state)
        #expect(tokens.isOK, "\(tokens.raw)")
        #expect(tokens.data["id_token"] == nil)
        #expect(tokens.data["id_token_claims"] == nil)
        #expect(tokens.data["scope"] == .array([.string("user:email")]))
        #expect(harness.op.requests.allSatisfy { !$0.url.path.contains(".well-known") })
        #expect(harness.op.requests(to: "/register").isEmpty)
    }

    /// expires_at is the injected clock at the exchange plus expires_in, in unix seconds.
    @Test func expiresAt_followsTheInjectedClock() async throws {
        let oxdID = try await registerOAuth2Site()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.clock.advance(by: 42)
        let tokens = await redeem(oxdID, code, state)
        #expect(tokens.data["expires_at"] == .integer(1_700_000_000 + 42 + 600))
    }

    /// A form-encoded token response (GitHub's default) is read: expires_in as a number, the granted scope split.
    @Test func formEncodedTokenResponse_isAccepted() async throws {
        let oxdID = try await registerOAuth2Site()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.op.override(path: "/token") { _ in
            HTTPResponse(status: 200, headers: Self.form,
                         body: Data("access_token=gho_abc&token_type=bearer&scope=read+write&expires_in=28800".utf8))
        }
        let tokens = await redeem(oxdID, code, state)
        #expect(tokens.isOK, "\(tokens.raw)")
        #expect(tokens.data["access_token"] == .string("gho_abc"))
        #expect(tokens.data["expires_in"] == .integer(28800))
        #expect(tokens.data["expires_at"] == .integer(1_700_000_000 + 28800))
        #expect(tokens.data["scope"] == .array([.string("read"), .string("write")]))
    }

    /// A JSON token response without expires_in has no expires_at, and its granted scope wins over the requested.
    @Test func jsonTokenResponse_withoutExpiresIn_hasNoExpiresAt() async throws {
        let oxdID = try await registerOAuth2Site()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.op.override(path: "/token") { _ in
            FakeOP.json(["access_token": .string("at"), "token_type": .string("bearer"), "scope": .string("read")])
        }
        let tokens = await redeem(oxdID, code, state)
        #expect(tokens.isOK, "\(tokens.raw)")
        #expect(tokens.data["expires_at"] == nil)
        #expect(tokens.data["scope"] == .array([.string("read")]))
    }

    /// Token responses without an access token, malformed, or with a bad member type are op_response_invalid.
    @Test(arguments: [
        HTTPResponse(status: 200, headers: form, body: Data("token_type=bearer&scope=read".utf8)),
        HTTPResponse(status: 200, headers: form, body: Data("access_token=%zz&token_type=bearer".utf8)),
        HTTPResponse(status: 200, headers: form, body: Data("access_token=a&token_type=bearer&expires_in=soon".utf8)),
        FakeOP.json(["token_type": .string("bearer")]),
        FakeOP.json(["access_token": .string("a"), "token_type": .string("bearer"), "scope": .array([])]),
    ])
    func brokenTokenResponse_isOPResponseInvalid(response: HTTPResponse) async throws {
        let oxdID = try await registerOAuth2Site()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.op.override(path: "/token") { _ in response }
        #expect(await redeem(oxdID, code, state).errorCode == "op_response_invalid")
    }

    /// An OAuth error reported with a success status (GitHub's bad_verification_code) is op_error.
    @Test func oauthErrorWithSuccessStatus_isOPError() async throws {
        let oxdID = try await registerOAuth2Site()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.op.override(path: "/token") { _ in
            HTTPResponse(status: 200, headers: Self.form, body: Data("error=bad_verification_code".utf8))
        }
        #expect(await redeem(oxdID, code, state).errorCode == "op_error")
    }

    /// An OpenID Connect site still refuses a form-encoded token response, even one carrying an ID token.
    @Test func oidcSite_formEncodedTokenResponse_isOPResponseInvalid() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.op.override(path: "/token") { _ in
            HTTPResponse(status: 200, headers: Self.form,
                         body: Data("access_token=at&token_type=bearer&id_token=a.b.c".utf8))
        }
        #expect(await redeem(oxdID, code, state).errorCode == "op_response_invalid")
    }

    /// An OpenID Connect site's token response without id_token is still op_response_invalid.
    @Test func oidcSite_tokenResponseWithoutIDToken_isOPResponseInvalid() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        harness.op.override(path: "/token") { _ in
            FakeOP.json(["access_token": .string("at"), "token_type": .string("Bearer"), "expires_in": .integer(60)])
        }
        #expect(await redeem(oxdID, code, state).errorCode == "op_response_invalid")
    }

    /// An OpenID Connect site's tokens carry expires_at and, when the OP gave none, the requested scope.
    @Test func oidcSite_tokensCarryExpiresAtAndRequestedScope() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        let tokens = await redeem(oxdID, code, state)
        #expect(tokens.data["expires_at"] == .integer(1_700_000_000 + 600))
        #expect(tokens.data["scope"] == .array(["openid", "profile", "email"].map(JSONValue.string)))
        #expect(tokens.data["id_token_claims"]?["sub"] == .string("alice"))
    }

    /// A plain OAuth 2.0 user API without `sub` (GitHub answers with `id`) is returned as it is.
    @Test func oauth2Site_userInfoWithoutSub_isAccepted() async throws {
        let oxdID = try await registerOAuth2Site()
        harness.op.override(path: "/userinfo") { _ in FakeOP.json(["id": .integer(1), "login": .string("alice")]) }
        let response = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": .string("at")])
        #expect(response.isOK, "\(response.raw)")
        #expect(response.data["claims"]?["login"] == .string("alice"))
        #expect(harness.op.requests(to: "/userinfo").first?.url.absoluteString == "https://op.example/userinfo")
    }

    /// An OpenID Connect userinfo response without `sub` is still op_response_invalid.
    @Test func oidcSite_userInfoWithoutSub_isOPResponseInvalid() async throws {
        let oxdID = try await harness.registerSite()
        harness.op.override(path: "/userinfo") { _ in FakeOP.json(["id": .integer(1)]) }
        let response = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": .string("at")])
        #expect(response.errorCode == "op_response_invalid")
    }

    /// A plain OAuth 2.0 site registered without a user endpoint cannot call get_user_info: op_unsupported.
    @Test func oauth2Site_withoutUserInfoEndpoint_isOPError() async throws {
        let oxdID = try await registerOAuth2Site(["userinfo_endpoint": .null])
        let response = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": .string("at")])
        #expect(response.errorCode == "op_unsupported")
    }

    /// Incomplete or unacceptable explicit-endpoint registrations are invalid_parameter and reach no provider.
    @Test(arguments: [
        ["token_endpoint": JSONValue.null],
        ["authorization_endpoint": .null, "token_endpoint": .null],
        ["client_id": .null, "client_secret": .null],
        ["token_endpoint": .string("http://github.example/token")],
        ["userinfo_endpoint": .string("not a url")],
        ["op_host": .string("github")],
        ["id_token_signed_response_alg": .string("RS256")],
    ] as [[String: JSONValue]])
    func invalidExplicitEndpointRegistration_isInvalidParameter(edits: [String: JSONValue]) async throws {
        var params: [String: JSONValue] = [
            "op_host": .string(Self.provider), "authorization_redirect_uri": .string("https://rp.example/callback"),
            "authorization_endpoint": .string("https://op.example/authorize"),
            "token_endpoint": .string("https://op.example/token"),
            "userinfo_endpoint": .string("https://op.example/userinfo"),
            "client_id": .string("gh-client"), "client_secret": .string("gh-secret"),
        ]
        for (key, value) in edits { params[key] = value == .null ? nil : value }
        let response = await harness.send("register_site", params)
        #expect(response.errorCode == "invalid_parameter", "\(response.raw)")
        #expect(harness.op.requests.isEmpty)
    }

    /// Without scopes the authorization URL carries no scope at all (the provider's default applies).
    @Test func oauth2Site_withoutScopes_sendsNoScope() async throws {
        let oxdID = try await registerOAuth2Site(["scope": .null])
        let response = await harness.send("get_authorization_url", ["oxd_id": .string(oxdID)])
        let url = try #require(response.data["authorization_url"]?.stringValue)
        #expect(URLComponents(string: url)?.queryItems?.contains { $0.name == "scope" } == false)
    }

    /// Explicit http endpoints on loopback are accepted when allow_http_loopback is set, like an http issuer.
    @Test func loopbackHTTPEndpoints_withAllowHTTPLoopback_areAccepted() async throws {
        var settings = OIDCSettings()
        settings.allowHTTPLoopback = true
        let loopback = DispatcherHarness(settings: settings)
        let response = await loopback.send("register_site", [
            "op_host": .string("http://127.0.0.1:9000"),
            "authorization_redirect_uri": .string("https://rp.example/callback"),
            "authorization_endpoint": .string("http://127.0.0.1:9000/authorize"),
            "token_endpoint": .string("http://localhost:9000/token"),
            "client_id": .string("gh-client"), "client_secret": .string("gh-secret"),
        ])
        #expect(response.isOK, "\(response.raw)")
        #expect(loopback.op.requests.isEmpty)
    }

    /// A stored endpoint the URL policy no longer accepts is refused before any request.
    @Test func storedEndpointRefusedByPolicy_isInvalidParameter() async throws {
        try await harness.store.insertSite(Self.storedSite(authorizationEndpoint: "http://github.example/authorize"))
        let response = await harness.send("get_authorization_url", ["oxd_id": .string("stored")])
        #expect(response.errorCode == "invalid_parameter")
        #expect(harness.op.requests.isEmpty)
    }

    /// A plain OAuth 2.0 site stored without its endpoints (a hand-edited store) is internal_error.
    @Test func oauth2SiteWithoutStoredEndpoints_isInternalError() async throws {
        try await harness.store.insertSite(Self.storedSite(authorizationEndpoint: nil))
        let response = await harness.send("get_authorization_url", ["oxd_id": .string("stored")])
        #expect(response.errorCode == "internal_error")
    }

    static func storedSite(authorizationEndpoint: String?) -> Site {
        Site(id: "stored", opHost: provider, clientID: "gh-client", clientSecret: Secret("gh-secret"),
             clientSecretExpiresAt: nil, registrationAccessToken: nil, registrationClientURI: nil,
             redirectURI: "https://rp.example/callback", postLogoutRedirectURI: nil, scopes: [], clientName: nil,
             grantTypes: ["authorization_code"], responseTypes: ["code"],
             tokenEndpointAuthMethod: "client_secret_basic",
             idTokenSignedResponseAlg: nil, isDynamicallyRegistered: false,
             createdAt: Date(timeIntervalSince1970: 1_700_000_000), providerKind: .oauth2,
             authorizationEndpoint: authorizationEndpoint, tokenEndpoint: "https://op.example/token")
    }
}
