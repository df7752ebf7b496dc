import Foundation
import RelydBasics
import RelydClient
import RelydHTTP
import RelydOIDC
import RelydProtocol
import RelydTestSupport
import Testing

extension Conformance {
    /// The OpenID RP certification cases of the code flow, token endpoint authentication, discovery, registration,
    /// userinfo and refresh (Basic, Config, Dynamic and Form Post profiles), through the real relyd against a loopback OP.
    @Suite(.sharedRelyd()) struct FlowConformanceTests {
        static func rs256() throws -> OPSigningKey { try OPSigningKey(.rs256, keyID: "k1") }

        // MARK: Response type and flow

        @Test("rp-response_type-code: accepted") func test_rp_response_type_code() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite()
            let authorization = try await op.client.authorizationURL(oxdID: oxdID)
            let query = URLComponents(string: authorization.authorizationURL)?.queryItems ?? []
            #expect(query.first { $0.name == "response_type" }?.value == "code")
            let code = try op.fake.authorize(authorization.authorizationURL)
            let tokens = try await op.client.tokensByCode(oxdID: oxdID, code: code, state: authorization.state)
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
        }

        @Test("rp-scope-userinfo-claims: accepted (the scope's claims come from userinfo)")
        func test_rp_scope_userinfo_claims() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite(scope: ["openid", "email"])
            let authorization = try await op.client.authorizationURL(oxdID: oxdID)
            let scope = URLComponents(string: authorization.authorizationURL)?.queryItems?.first { $0.name == "scope" }
            #expect(scope?.value == "openid email")
            let code = try op.fake.authorize(authorization.authorizationURL)
            let tokens = try await op.client.tokensByCode(oxdID: oxdID, code: code, state: authorization.state)
            let userInfo = try await op.client.userInfo(oxdID: oxdID, accessToken: tokens.accessToken)
            #expect(userInfo.claims["email"] == .string("alice@example.org"))
        }

        @Test("rp-response_mode-form_post: accepted (the app passes the posted code, state and iss)")
        func test_rp_response_mode_form_post() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite()
            let posted = try await formPost(op, oxdID: oxdID, iss: op.issuer)
            let tokens = try await op.client.tokensByCode(
                oxdID: oxdID, code: posted["code"] ?? "", state: posted["state"] ?? "", iss: posted["iss"])
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
        }

        @Test("rp-response_mode-form_post-wrong-iss: issuer_mismatch (posted iss of another issuer)")
        func test_rp_response_mode_form_post_wrong_iss() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite()
            let posted = try await formPost(op, oxdID: oxdID, iss: "https://attacker.example")
            #expect(try await op.errorCode {
                _ = try await op.client.tokensByCode(
                    oxdID: oxdID, code: posted["code"] ?? "", state: posted["state"] ?? "", iss: posted["iss"])
            } == "issuer_mismatch")
        }

        /// The fields the browser POSTs to the redirect URI with response_mode=form_post, as the app reads them from the
        /// form-encoded body.
        func formPost(_ op: ConformanceOP, oxdID: String, iss: String) async throws -> [String: String] {
            let authorization = try await op.client.authorizationURL(oxdID: oxdID, responseMode: "form_post")
            let query = URLComponents(string: authorization.authorizationURL)?.queryItems ?? []
            #expect(query.first { $0.name == "response_mode" }?.value == "form_post")
            let code = try op.fake.authorize(authorization.authorizationURL)
            let body = FormEncoding.encode([("code", code), ("state", authorization.state), ("iss", iss)])
            let fields = try #require(FormEncoding.decode(body))
            return Dictionary(fields, uniquingKeysWith: { first, _ in first })
        }

        // MARK: Token endpoint authentication

        @Test("rp-token_endpoint-client_secret_basic: accepted") func test_rp_token_endpoint_client_secret_basic() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite(tokenEndpointAuthMethod: "client_secret_basic")
            _ = try await op.codeFlow(oxdID: oxdID)
            let request = try #require(op.fake.requests(to: "/token").last)
            #expect(request.headers.contains { $0.0.lowercased() == "authorization" && $0.1.hasPrefix("Basic ") })
            #expect(FakeOPForm.fields(request)["client_secret"] == nil)
        }

        @Test("rp-token_endpoint-client_secret_post: accepted") func test_rp_token_endpoint_client_secret_post() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite(tokenEndpointAuthMethod: "client_secret_post")
            _ = try await op.codeFlow(oxdID: oxdID)
            let request = try #require(op.fake.requests(to: "/token").last)
            #expect(!request.headers.contains { $0.0.lowercased() == "authorization" })
            #expect(FakeOPForm.fields(request)["client_secret"] != nil)
        }

        @Test("rp-token_endpoint-client_secret_jwt: accepted") func test_rp_token_endpoint_client_secret_jwt() async throws {
            let op = try ConformanceOP()
            let endpoint = try AssertionTokenEndpoint(op: op.fake, clock: SystemWallClock())
            let secret = "jwt-secret-0123456789abcdef0123456789abcdef"
            op.fake.addClient(id: "jwt-client", secret: secret, redirectURIs: [ConformanceOP.redirectURI])
            endpoint.setKey(.secret(secret), for: "jwt-client")
            let oxdID = try await op.registerSite(tokenEndpointAuthMethod: "client_secret_jwt", clientID: "jwt-client",
                                                  clientSecret: secret)
            let (code, state) = try await op.login(oxdID: oxdID, authorize: endpoint.authorize)
            let tokens = try await op.client.tokensByCode(oxdID: oxdID, code: code, state: state)
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
            #expect(endpoint.assertions.count == 1)
        }

        @Test("rp-token_endpoint-private_key_jwt: accepted") func test_rp_token_endpoint_private_key_jwt() async throws {
            let op = try ConformanceOP()
            let endpoint = try AssertionTokenEndpoint(op: op.fake, clock: SystemWallClock())
            let site = try await op.client.registerSite(
                opHost: op.issuer, authorizationRedirectURI: ConformanceOP.redirectURI,
                tokenEndpointAuthMethod: "private_key_jwt")
            endpoint.setKey(.registeredJWKS(nil), for: site.clientID)
            let (code, state) = try await op.login(oxdID: site.oxdID, authorize: endpoint.authorize)
            let tokens = try await op.client.tokensByCode(oxdID: site.oxdID, code: code, state: state)
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
            #expect(endpoint.assertions.count == 1)
        }

        // MARK: Discovery and registration

        @Test("rp-discovery-openid-configuration: accepted") func test_rp_discovery_openid_configuration() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let document = try await op.client.discovery(opHost: op.issuer)
            #expect(document["issuer"] == .string(op.issuer))
            #expect(document["token_endpoint"] == .string(op.issuer + "/token"))
        }

        @Test("rp-discovery-jwks_uri-keys: accepted (the keys come from jwks_uri)")
        func test_rp_discovery_jwks_uri_keys() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            _ = try await op.registerAndLogIn()
            #expect(op.fake.requests(to: "/jwks").count == 1)
        }

        @Test("rp-discovery-issuer-not-matching-config: issuer_mismatch")
        func test_rp_discovery_issuer_not_matching_config() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            op.fake.discoveryEdits = { $0["issuer"] = .string("https://op.example") }
            #expect(try await op.errorCode { _ = try await op.registerSite() } == "issuer_mismatch")
        }

        @Test("rp-discovery-webfinger-acct: accepted") func test_rp_discovery_webfinger_acct() async throws {
            let op = try ConformanceOP()
            let host = try #require(URLComponents(string: op.issuer)).port.map { "127.0.0.1:\($0)" }
            #expect(try await op.client.issuer(resource: "acct:alice@\(host ?? "")") == op.issuer)
        }

        @Test("rp-discovery-webfinger-url: accepted") func test_rp_discovery_webfinger_url() async throws {
            let op = try ConformanceOP()
            #expect(try await op.client.issuer(resource: op.issuer + "/alice") == op.issuer)
            let asked = try #require(op.fake.requests(to: "/.well-known/webfinger").last)
            let resource = URLComponents(url: asked.url, resolvingAgainstBaseURL: false)?.queryItems?
                .first { $0.name == "resource" }?.value
            #expect(resource == op.issuer + "/alice")
        }

        @Test("rp-registration-dynamic: accepted") func test_rp_registration_dynamic() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let site = try await op.client.registerSite(opHost: op.issuer, authorizationRedirectURI: ConformanceOP.redirectURI)
            #expect(!site.clientID.isEmpty)
            let body = try #require(op.fake.requests(to: "/register").last?.body)
            let document = try JSONDecoder().decode([String: JSONValue].self, from: body)
            #expect(document["redirect_uris"] == .array([.string(ConformanceOP.redirectURI)]))
            #expect(try await op.client.site(oxdID: site.oxdID).dynamicallyRegistered)
        }

        // MARK: Userinfo

        @Test("rp-userinfo-bearer-header: accepted") func test_rp_userinfo_bearer_header() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let (oxdID, tokens) = try await op.registerAndLogIn()
            let userInfo = try await op.client.userInfo(oxdID: oxdID, accessToken: tokens.accessToken)
            #expect(userInfo.claims["sub"] == .string("alice"))
            let request = try #require(op.fake.requests(to: "/userinfo").last)
            #expect(request.headers.contains { $0.0.lowercased() == "authorization" && $0.1.hasPrefix("Bearer ") })
        }

        @Test("rp-userinfo-bearer-body: accepted (body after a bare challenge)") func test_rp_userinfo_bearer_body() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            op.fake.readsUserInfoTokenFromBodyOnly = true
            let (oxdID, tokens) = try await op.registerAndLogIn()
            let userInfo = try await op.client.userInfo(oxdID: oxdID, accessToken: tokens.accessToken)
            #expect(userInfo.claims["sub"] == .string("alice"))
            #expect(op.fake.requests(to: "/userinfo").last?.method == .post)
        }

        @Test("rp-userinfo-bad-sub-claim: userinfo_invalid") func test_rp_userinfo_bad_sub_claim() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            op.fake.userInfoSubject = "mallory"
            let (oxdID, tokens) = try await op.registerAndLogIn()
            #expect(try await op.errorCode { _ = try await op.client.userInfo(oxdID: oxdID, accessToken: tokens.accessToken) }
                == "userinfo_invalid")
        }

        @Test("rp-userinfo-sig: accepted (signed userinfo verified)") func test_rp_userinfo_sig() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            op.fake.signsUserInfo = true
            let (oxdID, tokens) = try await op.registerAndLogIn()
            let userInfo = try await op.client.userInfo(oxdID: oxdID, accessToken: tokens.accessToken)
            #expect(userInfo.claims["sub"] == .string("alice"))
            #expect(userInfo.claims["iss"] == .string(op.issuer))
        }

        // MARK: Refresh

        @Test("refresh-token: accepted") func test_refresh_token() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let (oxdID, tokens) = try await op.registerAndLogIn()
            let refreshed = try await op.client.accessTokenByRefreshToken(
                oxdID: oxdID, refreshToken: try #require(tokens.refreshToken))
            #expect(refreshed.accessToken != tokens.accessToken)
            #expect(refreshed.idTokenClaims?["sub"] == .string("alice"))
        }

        @Test("refresh-token-invalid-issuer: id_token_invalid") func test_refresh_token_invalid_issuer() async throws {
            try await expectRefreshRefused { $0["iss"] = .string("https://example.org/") }
        }

        @Test("refresh-token-invalid-sub: id_token_invalid") func test_refresh_token_invalid_sub() async throws {
            try await expectRefreshRefused { $0["sub"] = .string("mallory") }
        }

        /// A refresh whose new ID token carries `edit` is refused.
        func expectRefreshRefused(_ edit: @escaping @Sendable (inout [String: JSONValue]) -> Void) async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let (oxdID, tokens) = try await op.registerAndLogIn()
            op.fake.idTokenClaimEdits = edit
            let refreshToken = try #require(tokens.refreshToken)
            #expect(try await op.errorCode {
                _ = try await op.client.accessTokenByRefreshToken(oxdID: oxdID, refreshToken: refreshToken)
            } == "id_token_invalid")
        }
    }
}

/// The form fields of a request the OP received.
enum FakeOPForm {
    static func fields(_ request: HTTPRequest) -> [String: String] {
        let text = String(decoding: request.body ?? Data(), as: UTF8.self)
        return Dictionary(FormEncoding.decode(text) ?? [], uniquingKeysWith: { first, _ in first })
    }
}
