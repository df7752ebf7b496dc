import Foundation
import RelydHTTP
import RelydOIDC
import RelydProtocol
import RelydTestSupport
import Testing

/// What the OpenID RP certification cases need of relyd beyond the ordinary code flow: unsigned ID tokens only by a
/// site's explicit choice, signed userinfo, the userinfo token in the body for an OP that ignores the header, and
/// WebFinger to a loopback test OP.
@Suite struct ConformanceBehaviourTests {
    let harness = DispatcherHarness()

    /// Registers a site, logs in and redeems the code.
    func redeem(_ site: [String: JSONValue] = [:]) async throws -> (oxdID: String, response: DispatcherHarness.Response) {
        let oxdID = try await harness.registerSite(site)
        let (code, state) = try await harness.login(oxdID: oxdID)
        let response = await harness.send("get_tokens_by_code", [
            "oxd_id": .string(oxdID), "code": .string(code), "state": .string(state),
        ])
        return (oxdID, response)
    }

    /// An unsigned ID token is refused by a site that did not register `none`, even when the OP advertises it.
    @Test func unsignedIDToken_withoutTheSitesOptIn_isRefused() async throws {
        harness.op.signingKey = try OPSigningKey(.none, keyID: nil)
        harness.op.discoveryEdits = { $0["id_token_signing_alg_values_supported"] = .array([.string("none")]) }
        let (_, response) = try await redeem()
        #expect(response.errorCode == "id_token_invalid")
    }

    /// A site registered with id_token_signed_response_alg none accepts an unsigned ID token from the token
    /// endpoint, and asked the OP for exactly that.
    @Test func unsignedIDToken_fromTheTokenEndpoint_isAcceptedWhenTheSiteRegisteredNone() async throws {
        harness.op.signingKey = try OPSigningKey(.none, keyID: nil)
        let (_, response) = try await redeem(["id_token_signed_response_alg": .string("none")])
        #expect(response.isOK, "\(response.raw)")
        let registration = try #require(harness.op.requests(to: "/register").last?.body)
        let document = try JSONDecoder().decode([String: JSONValue].self, from: registration)
        #expect(document["id_token_signed_response_alg"] == .string("none"))
    }

    /// The same site accepts no unsigned token an app hands in (check_id_token), nor one with a signature part.
    @Test func unsignedIDToken_elsewhereOrWithASignature_isRefused() async throws {
        harness.op.signingKey = try OPSigningKey(.none, keyID: nil)
        let (oxdID, response) = try await redeem(["id_token_signed_response_alg": .string("none")])
        let idToken = try #require(response.data["id_token"]?.stringValue)
        let checked = await harness.send("check_id_token", ["oxd_id": .string(oxdID), "id_token": .string(idToken)])
        #expect(checked.errorCode == "id_token_invalid")

        harness.op.tokenResponseEdits = { answer in
            answer["id_token"] = answer["id_token"]?.stringValue.map { .string($0 + "c2ln") }
        }
        let (code, state) = try await harness.login(oxdID: oxdID)
        let withSignature = await harness.send("get_tokens_by_code", [
            "oxd_id": .string(oxdID), "code": .string(code), "state": .string(state),
        ])
        #expect(withSignature.errorCode == "id_token_invalid")
    }

    /// update_site can opt a dynamically registered site in to unsigned ID tokens (the OP is told by RFC 7592), and
    /// refuses an algorithm relyd does not know.
    @Test func updateSite_toNone_optsInToUnsignedIDTokens() async throws {
        _ = FakeClientRegistry(op: harness.op, clock: harness.clock)
        harness.op.signingKey = try OPSigningKey(.none, keyID: nil)
        let oxdID = try await harness.registerSite()
        let refused = await harness.send("update_site", [
            "oxd_id": .string(oxdID), "id_token_signed_response_alg": .string("XX256"),
        ])
        #expect(refused.errorCode == "invalid_parameter")
        let updated = await harness.send("update_site", [
            "oxd_id": .string(oxdID), "id_token_signed_response_alg": .string("none"),
        ])
        #expect(updated.data["id_token_signed_response_alg"] == .string("none"), "\(updated.raw)")
        let (code, state) = try await harness.login(oxdID: oxdID)
        let response = await harness.send("get_tokens_by_code", [
            "oxd_id": .string(oxdID), "code": .string(code), "state": .string(state),
        ])
        #expect(response.isOK, "\(response.raw)")
    }

    /// An OP that registers none for a site that did not ask for it is not believed.
    @Test func registration_answeringNoneUnasked_isOPResponseInvalid() async throws {
        harness.op.override(path: "/register") { _ in
            FakeOP.json(["client_id": .string("c"), "client_secret": .string("s"),
                         "id_token_signed_response_alg": .string("none")], status: 201)
        }
        let response = await harness.send("register_site", [
            "op_host": .string("https://op.example"), "authorization_redirect_uri": .string("https://rp.example/cb"),
        ])
        #expect(response.errorCode == "op_response_invalid")
    }

    /// Nor is an OP that answers an update of a dynamically registered site with none: the site stays as it was.
    @Test func update_answeringNoneUnasked_isOPResponseInvalid_andTheSiteIsUnchanged() async throws {
        let oxdID = try await harness.registerSite()
        let before = await harness.send("get_site", ["oxd_id": .string(oxdID)])
        let clientID = try #require(before.data["client_id"]?.stringValue)
        harness.op.override(path: "/register/\(clientID)") { _ in
            FakeOP.json(["client_id": .string(clientID), "client_secret": .string("rotated"),
                         "id_token_signed_response_alg": .string("none")])
        }
        let update = await harness.send("update_site", ["oxd_id": .string(oxdID), "client_name": .string("shop")])
        #expect(update.errorCode == "op_response_invalid")
        #expect(await harness.send("get_site", ["oxd_id": .string(oxdID)]).data == before.data)
    }

    /// Signed userinfo (application/jwt) is verified with the OP's keys and its claims returned.
    @Test func signedUserInfo_isVerified() async throws {
        harness.op.signingKey = try OPSigningKey(.es256, keyID: "ec-1")
        harness.op.publishedKeys = try [#require(harness.op.signingKey?.publicJWK)]
        harness.op.discoveryEdits = { $0["id_token_signing_alg_values_supported"] = .array([.string("ES256")]) }
        harness.op.signsUserInfo = true
        let (oxdID, response) = try await redeem()
        let accessToken = try #require(response.data["access_token"]?.stringValue, "\(response.raw)")
        let userInfo = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": .string(accessToken)])
        #expect(userInfo.data["claims"]?["sub"] == .string("alice"), "\(userInfo.raw)")
    }

    /// Signed userinfo with a bad signature, or for another audience, is userinfo_invalid.
    @Test(arguments: ["signature", "audience"])
    func signedUserInfo_failingACheck_isUserInfoInvalid(broken: String) async throws {
        harness.op.signingKey = try OPSigningKey(.es256, keyID: "ec-1")
        harness.op.publishedKeys = try [#require(harness.op.signingKey?.publicJWK)]
        harness.op.discoveryEdits = { $0["id_token_signing_alg_values_supported"] = .array([.string("ES256")]) }
        let (oxdID, response) = try await redeem()
        let accessToken = try #require(response.data["access_token"]?.stringValue)
        let key = try #require(harness.op.signingKey)
        let claims: [String: JSONValue] = [
            "sub": .string("alice"), "iss": .string("https://op.example"),
            "aud": .string(broken == "audience" ? "someone-else" : "ignored"),
        ]
        let signed = try key.sign(claims, clientSecret: "")
        let token = broken == "signature" ? String(signed.dropLast(4)) + "AAAA" : signed
        harness.op.override(path: "/userinfo") { _ in
            HTTPResponse(status: 200, headers: ["content-type": "application/jwt"], body: Data(token.utf8))
        }
        let userInfo = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": .string(accessToken)])
        #expect(userInfo.errorCode == "userinfo_invalid")
    }

    /// A site that registered `none` for ID tokens has no algorithm to accept a signed userinfo response with, even
    /// one signed by a key the OP publishes: userinfo_invalid, as documented for get_user_info.
    @Test func signedUserInfo_forASiteRegisteredNone_isUserInfoInvalid() async throws {
        let userInfoKey = try OPSigningKey(.es256, keyID: "ec-1")
        harness.op.signingKey = try OPSigningKey(.none, keyID: nil)
        harness.op.publishedKeys = [userInfoKey.publicJWK].compactMap { $0 }
        let (oxdID, response) = try await redeem(["id_token_signed_response_alg": .string("none")])
        let accessToken = try #require(response.data["access_token"]?.stringValue, "\(response.raw)")
        let signed = try userInfoKey.sign(
            ["sub": .string("alice"), "iss": .string("https://op.example")], clientSecret: "")
        harness.op.override(path: "/userinfo") { _ in
            HTTPResponse(status: 200, headers: ["content-type": "application/jwt"], body: Data(signed.utf8))
        }
        let userInfo = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": .string(accessToken)])
        #expect(userInfo.errorCode == "userinfo_invalid")
    }

    /// An OP that reads the token only from the body (RFC 6750 2.2) answers the header with a bare challenge; relyd
    /// then sends the token in the body once, and gets the claims.
    @Test func userInfo_opReadingOnlyTheBody_getsTheTokenInTheBody() async throws {
        harness.op.readsUserInfoTokenFromBodyOnly = true
        let (oxdID, response) = try await redeem()
        let accessToken = try #require(response.data["access_token"]?.stringValue)
        let userInfo = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": .string(accessToken)])
        #expect(userInfo.data["claims"]?["sub"] == .string("alice"), "\(userInfo.raw)")
        let requests = harness.op.requests(to: "/userinfo")
        #expect(requests.map(\.method) == [.get, .post])
    }

    /// A refused token (a challenge naming an error) is not sent again in the body.
    @Test func userInfo_refusedToken_isNotRetriedInTheBody() async throws {
        let oxdID = try await harness.registerSite()
        let userInfo = await harness.send("get_user_info", ["oxd_id": .string(oxdID), "access_token": .string("bogus")])
        #expect(userInfo.errorCode == "op_error")
        #expect(harness.op.requests(to: "/userinfo").count == 1)
    }

    /// With allow_http_loopback, an account on a loopback host is asked over http; without it, over https.
    @Test(arguments: [true, false])
    func webFinger_accountOnLoopback_usesHTTPOnlyWhenAllowed(allowed: Bool) async throws {
        var settings = OIDCSettings()
        settings.allowHTTPLoopback = allowed
        let harness = DispatcherHarness(settings: settings, issuer: "http://127.0.0.1:9")
        _ = await harness.send("get_issuer", ["resource": .string("acct:alice@127.0.0.1:9")])
        let request = try #require(harness.op.requests(to: "/.well-known/webfinger").first)
        #expect(request.url.scheme == (allowed ? "http" : "https"))
        #expect(request.url.port == 9)
    }
}
