import Foundation
import RelydHTTP
import RelydProtocol
import RelydTestSupport
import Testing

/// `get_logout_uri` (RP-Initiated Logout 1.0) against the in-process fake OP.
@Suite struct GetLogoutURITests {
    let harness = DispatcherHarness()

    init() {
        harness.op.discoveryEdits = { document in
            document["end_session_endpoint"] = .string("https://op.example/logout?tenant=a")
        }
    }

    func registerSite(postLogout: String? = "https://rp.example/logged-out") async throws -> String {
        try await harness.registerSite(postLogout.map { ["post_logout_redirect_uri": .string($0)] } ?? [:])
    }

    func query(_ response: DispatcherHarness.Response) throws -> (URLComponents, [String: String]) {
        let url = try #require(URLComponents(string: response.data["uri"]?.stringValue ?? ""), "\(response.raw)")
        let items = (url.queryItems ?? []).map { ($0.name, $0.value ?? "") }
        return (url, Dictionary(items, uniquingKeysWith: { first, _ in first }))
    }

    /// All parameters are appended to an endpoint that already has a query, with the site's client id.
    @Test func logoutURI_carriesEveryParameter_afterTheEndpointsOwnQuery() async throws {
        let oxdID = try await registerSite()
        let response = await harness.send("get_logout_uri", [
            "oxd_id": .string(oxdID), "id_token_hint": .string("eyJ.hint.sig"), "state": .string("s 1&2"),
            "post_logout_redirect_uri": .string("https://rp.example/logged-out"),
            "ui_locales": .array([.string("fr-CA"), .string("en")]),
        ])
        #expect(response.isOK, "\(response.raw)")
        let (url, query) = try query(response)
        #expect(url.host == "op.example" && url.path == "/logout")
        #expect(url.queryItems?.first?.name == "tenant")
        #expect(query["tenant"] == "a")
        #expect(query["id_token_hint"] == "eyJ.hint.sig")
        #expect(query["post_logout_redirect_uri"] == "https://rp.example/logged-out")
        #expect(query["state"] == "s 1&2")
        #expect(query["ui_locales"] == "fr-CA en")
        let site = try #require(try await harness.store.site(id: oxdID))
        #expect(query["client_id"] == site.clientID)
    }

    /// Without post_logout_redirect_uri the site's registered one is used.
    @Test func logoutURI_defaultsToTheSitesPostLogoutRedirectURI() async throws {
        let oxdID = try await registerSite()
        let (_, query) = try query(await harness.send("get_logout_uri", ["oxd_id": .string(oxdID)]))
        #expect(query["post_logout_redirect_uri"] == "https://rp.example/logged-out")
        #expect(query["id_token_hint"] == nil && query["state"] == nil)
    }

    /// A site without a post-logout redirect URI gets a URL without one.
    @Test func logoutURI_withoutRegisteredRedirect_omitsIt() async throws {
        let oxdID = try await registerSite(postLogout: nil)
        let (_, query) = try query(await harness.send("get_logout_uri", ["oxd_id": .string(oxdID)]))
        #expect(query["post_logout_redirect_uri"] == nil)
        #expect(query["client_id"] != nil)
    }

    /// A post-logout redirect URI other than the site's (even differing only by a slash) is invalid_parameter.
    @Test(arguments: ["https://evil.example/", "https://rp.example/logged-out/", "https://RP.example/logged-out"])
    func logoutURI_refusesAnotherRedirect(uri: String) async throws {
        let oxdID = try await registerSite()
        let response = await harness.send("get_logout_uri", [
            "oxd_id": .string(oxdID), "post_logout_redirect_uri": .string(uri),
        ])
        #expect(response.errorCode == "invalid_parameter")
    }

    /// A post-logout redirect URI for a site that registered none is invalid_parameter.
    @Test func logoutURI_refusesRedirectWhenSiteHasNone() async throws {
        let oxdID = try await registerSite(postLogout: nil)
        let response = await harness.send("get_logout_uri", [
            "oxd_id": .string(oxdID), "post_logout_redirect_uri": .string("https://rp.example/logged-out"),
        ])
        #expect(response.errorCode == "invalid_parameter")
    }

    /// An OP without end_session_endpoint is op_unsupported.
    @Test func logoutURI_withoutEndSessionEndpoint_isOPUnsupported() async throws {
        harness.op.discoveryEdits = nil
        let oxdID = try await registerSite()
        #expect(await harness.send("get_logout_uri", ["oxd_id": .string(oxdID)]).errorCode == "op_unsupported")
    }

    /// An unknown oxd_id is unknown_site; a missing one is missing_parameter.
    @Test func logoutURI_unknownOrMissingSite() async {
        #expect(await harness.send("get_logout_uri", ["oxd_id": .string("nope")]).errorCode == "unknown_site")
        #expect(await harness.send("get_logout_uri", [:]).errorCode == "missing_parameter")
    }
}

/// `validate_logout_token` (Back-Channel Logout 1.0) with HS256 tokens the fake OP's client secret signs.
@Suite struct ValidateLogoutTokenTests {
    let harness = DispatcherHarness()
    static let event = "http://schemas.openid.net/event/backchannel-logout"

    /// A registered site and its client id and secret.
    func site() async throws -> (oxdID: String, clientID: String, secret: String) {
        let oxdID = try await harness.registerSite()
        let site = try #require(try await harness.store.site(id: oxdID))
        return (oxdID, site.clientID, try #require(site.clientSecret?.revealed))
    }

    func claims(clientID: String, _ edits: (inout [String: JSONValue]) -> Void = { _ in }) -> [String: JSONValue] {
        let now = Int64(harness.clock.now().timeIntervalSince1970)
        var claims: [String: JSONValue] = [
            "iss": .string(harness.op.issuer), "aud": .string(clientID), "iat": .integer(now),
            "exp": .integer(now + 120), "jti": .string("jti-1"), "sub": .string("alice"), "sid": .string("sid-1"),
            "events": .object([Self.event: .object([:])]),
        ]
        edits(&claims)
        return claims
    }

    func validate(_ oxdID: String, _ token: String) async -> DispatcherHarness.Response {
        await harness.send("validate_logout_token", ["oxd_id": .string(oxdID), "logout_token": .string(token)])
    }

    /// Tokens with sub and sid, sub only, or sid only are accepted and return what they carry.
    @Test func validTokens_returnSubSidIssAndJti() async throws {
        let site = try await site()
        let both = await validate(site.oxdID, try FakeOP.signHS256(claims(clientID: site.clientID), secret: site.secret))
        #expect(both.isOK, "\(both.raw)")
        #expect(both.data["sub"] == .string("alice") && both.data["sid"] == .string("sid-1"))
        #expect(both.data["iss"] == .string(harness.op.issuer) && both.data["jti"] == .string("jti-1"))

        let subOnly = await validate(site.oxdID, try FakeOP.signHS256(claims(clientID: site.clientID) {
            $0["sid"] = nil; $0["jti"] = .string("jti-2")
        }, secret: site.secret))
        #expect(subOnly.isOK && subOnly.data["sub"] == .string("alice") && subOnly.data["sid"] == nil)

        let sidOnly = await validate(site.oxdID, try FakeOP.signHS256(claims(clientID: site.clientID) {
            $0["sub"] = nil; $0["jti"] = .string("jti-3")
        }, secret: site.secret))
        #expect(sidOnly.isOK && sidOnly.data["sid"] == .string("sid-1") && sidOnly.data["sub"] == nil)
    }

    /// The same token presented twice is refused the second time.
    @Test func replayedJTI_isLogoutTokenInvalid() async throws {
        let site = try await site()
        let token = try FakeOP.signHS256(claims(clientID: site.clientID), secret: site.secret)
        #expect(await validate(site.oxdID, token).isOK)
        let replay = await validate(site.oxdID, token)
        #expect(replay.errorCode == "logout_token_invalid")
        #expect(replay.errorDescription?.contains("replayed") == true)
    }

    /// Each violated rule is logout_token_invalid naming its check.
    @Test(arguments: [
        ("no events", "events"), ("wrong event", "events"), ("event not object", "events"), ("nonce", "nonce"),
        ("wrong aud", "audience"), ("wrong iss", "issuer"), ("no jti", "tokenID"), ("no sub no sid", "subject"),
        ("iat future", "issuedAt"), ("iat too old", "issuedAt"), ("expired", "expired"), ("no iat", "issuedAt"),
    ])
    func invalidClaims_areLogoutTokenInvalid(rule: String, check: String) async throws {
        let site = try await site()
        let now = Int64(harness.clock.now().timeIntervalSince1970)
        let token = try FakeOP.signHS256(claims(clientID: site.clientID) { claims in
            switch rule {
            case "no events": claims["events"] = nil
            case "wrong event": claims["events"] = .object(["http://schemas.openid.net/event/other": .object([:])])
            case "event not object": claims["events"] = .object([Self.event: .string("x")])
            case "nonce": claims["nonce"] = .string("n")
            case "wrong aud": claims["aud"] = .string("someone-else")
            case "wrong iss": claims["iss"] = .string("https://evil.example")
            case "no jti": claims["jti"] = nil
            case "no sub no sid": claims["sub"] = nil; claims["sid"] = nil
            case "iat future": claims["iat"] = .integer(now + 600)
            case "iat too old": claims["iat"] = .integer(now - 1000); claims["exp"] = nil
            case "expired": claims["exp"] = .integer(now - 600)
            default: claims["iat"] = nil
            }
        }, secret: site.secret)
        let response = await validate(site.oxdID, token)
        #expect(response.errorCode == "logout_token_invalid")
        #expect(response.errorDescription?.contains("'\(check)'") == true, "\(response.raw)")
    }

    /// alg none, an algorithm the site does not accept, and a bad signature are refused.
    @Test func signatureAndAlgorithmFailures_areLogoutTokenInvalid() async throws {
        let site = try await site()
        let body = claims(clientID: site.clientID)
        let unsecured = try FakeOP.signHS256(body, secret: site.secret, header: ["alg": .string("none")])
            .split(separator: ".").prefix(2).joined(separator: ".") + "."
        #expect(await validate(site.oxdID, unsecured).errorCode == "logout_token_invalid")
        let hs384Header: [String: JSONValue] = ["alg": .string("HS384")]
        let wrongAlg = try FakeOP.signHS256(body, secret: site.secret, header: hs384Header)
        #expect(await validate(site.oxdID, wrongAlg).errorCode == "logout_token_invalid")
        let badSignature = try FakeOP.signHS256(body, secret: "not-the-client-secret-0123456789abcdef")
        #expect(await validate(site.oxdID, badSignature).errorCode == "logout_token_invalid")
        #expect(await validate(site.oxdID, "not-a-jwt").errorCode == "logout_token_invalid")
    }

    /// An unknown site is unknown_site; a missing token is missing_parameter.
    @Test func unknownSiteOrMissingToken() async throws {
        #expect(await validate("nope", "a.b.c").errorCode == "unknown_site")
        let site = try await site()
        #expect(await harness.send("validate_logout_token", ["oxd_id": .string(site.oxdID)]).errorCode
            == "missing_parameter")
    }
}

/// The explicit authorization request options of `get_authorization_url`.
@Suite struct AuthorizationOptionsTests {
    let harness = DispatcherHarness()

    /// login_hint, ui_locales (space-separated), claims (compact JSON) and response_mode reach the URL.
    @Test func options_reachTheAuthorizationURL() async throws {
        let oxdID = try await harness.registerSite()
        let claims: JSONValue = .object([
            "id_token": .object(["email": .object(["essential": .bool(true)])]),
            "userinfo": .object(["name": .null]),
        ])
        let response = await harness.send("get_authorization_url", [
            "oxd_id": .string(oxdID), "login_hint": .string("alice@example.org"),
            "ui_locales": .array([.string("de"), .string("en-GB")]), "claims": claims,
            "response_mode": .string("form_post"),
        ])
        #expect(response.isOK, "\(response.raw)")
        let url = try #require(URLComponents(string: response.data["authorization_url"]?.stringValue ?? ""))
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        #expect(query["login_hint"] == "alice@example.org")
        #expect(query["ui_locales"] == "de en-GB")
        #expect(query["claims"] == #"{"id_token":{"email":{"essential":true}},"userinfo":{"name":null}}"#)
        #expect(query["response_mode"] == "form_post")
    }

    /// With response_mode=form_post the code and state the app receives by POST redeem exactly as before.
    @Test func formPost_codeRedeemsAsBefore() async throws {
        let oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID, params: ["response_mode": .string("form_post")])
        let tokens = await harness.send("get_tokens_by_code", [
            "oxd_id": .string(oxdID), "code": .string(code), "state": .string(state),
            "iss": .string(harness.op.issuer),
        ])
        #expect(tokens.isOK, "\(tokens.raw)")
    }

    /// A response mode other than query and form_post is invalid_parameter.
    @Test(arguments: ["fragment", "form_post.jwt", "query.jwt", "", "FORM_POST"])
    func otherResponseModes_areInvalid(mode: String) async throws {
        let oxdID = try await harness.registerSite()
        let response = await harness.send("get_authorization_url", [
            "oxd_id": .string(oxdID), "response_mode": .string(mode),
        ])
        #expect(response.errorCode == "invalid_parameter")
    }

    /// claims that is not a JSON object, and ui_locales that is not an array, are invalid_parameter.
    @Test func wronglyTypedOptions_areInvalid() async throws {
        let oxdID = try await harness.registerSite()
        for (name, value) in [("claims", JSONValue.string("{}")), ("claims", .array([])),
                              ("ui_locales", .string("de en")), ("login_hint", .integer(3))] {
            let response = await harness.send("get_authorization_url", ["oxd_id": .string(oxdID), name: value])
            #expect(response.errorCode == "invalid_parameter", "\(name)")
        }
    }
}

/// Logout belongs to OpenID Connect: a plain OAuth 2.0 site gets op_unsupported from both commands.
@Suite struct LogoutForOAuth2SitesTests {
    let harness = DispatcherHarness()

    /// get_logout_uri and validate_logout_token refuse an OAuth 2.0 site without calling the OP.
    @Test func oauth2Site_isOPUnsupported() async throws {
        let oxdID = try await harness.registerSite()
        var site = try #require(try await harness.store.site(id: oxdID))
        site.id = "oauth2-site"
        site.providerKind = .oauth2
        try await harness.store.insertSite(site)
        let before = harness.op.requests.count
        #expect(await harness.send("get_logout_uri", ["oxd_id": .string("oauth2-site")]).errorCode
            == "op_unsupported")
        #expect(await harness.send("validate_logout_token", [
            "oxd_id": .string("oauth2-site"), "logout_token": .string("a.b.c"),
        ]).errorCode == "op_unsupported")
        #expect(harness.op.requests.count == before)
    }
}
