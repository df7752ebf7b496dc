import Foundation
import RelydClient
import RelydHTTP
import RelydOIDC
import RelydProtocol
import RelydTestSupport
import Testing

extension Conformance {
    /// Key rotation and unknown keys (rp-key-rotation-op-sign-key and the refetch storm), RP-initiated logout and the
    /// back-channel logout token cases, through the real relyd against a loopback OP.
    @Suite(.sharedRelyd()) struct KeyAndLogoutConformanceTests {
        static func rs256(kid: String = "k1", generation: Int = 0) throws -> OPSigningKey {
            try OPSigningKey(.rs256, keyID: kid, generation: generation)
        }

        // MARK: Keys

        @Test("rp-key-rotation-op-sign-key: accepted after one JWKS refetch")
        func test_rp_key_rotation_op_sign_key() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite()
            _ = try await op.codeFlow(oxdID: oxdID)
            #expect(op.fake.requests(to: "/jwks").count == 1)
            op.use(try Self.rs256(kid: "k2", generation: 1))
            let tokens = try await op.codeFlow(oxdID: oxdID)
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
            #expect(op.fake.requests(to: "/jwks").count == 2)
        }

        @Test("jwks-never-contains-kid: id_token_invalid after one refetch, no refetch storm under load")
        func test_jwks_never_contains_kid_no_refetch_storm() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite()
            _ = try await op.codeFlow(oxdID: oxdID)
            let clientID = try await op.client.site(oxdID: oxdID).clientID
            let now = Int64(Date().timeIntervalSince1970)
            let ghost = try Self.rs256(kid: "never-published", generation: 1).sign([
                "iss": .string(op.issuer), "sub": .string("alice"), "aud": .string(clientID),
                "iat": .integer(now), "exp": .integer(now + 600),
            ], clientSecret: "")
            let started = Date()
            #expect(try await op.errorCode { _ = try await op.client.checkIDToken(oxdID: oxdID, idToken: ghost) }
                == "id_token_invalid")
            #expect(op.fake.requests(to: "/jwks").count == 2)

            let codes = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        do {
                            _ = try await op.client.checkIDToken(oxdID: oxdID, idToken: ghost)
                            return nil
                        } catch let error as RelydClientError {
                            return error.code
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(codes == Array(repeating: "id_token_invalid", count: 32))
            // At most one refetch per 10 s rate-limit window, however long this took on a loaded machine.
            let windows = Int(Date().timeIntervalSince(started) / 10) + 1
            #expect(op.fake.requests(to: "/jwks").count <= 1 + windows)
        }

        // MARK: RP-initiated logout

        @Test("rp-init-logout: accepted (the OP ends the session and returns to the post-logout URI)")
        func test_rp_init_logout() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let issuer = op.issuer
            op.fake.discoveryEdits = { document in
                document["id_token_signing_alg_values_supported"] = .array([.string("RS256")])
                document["end_session_endpoint"] = .string(issuer + "/end_session")
            }
            let (oxdID, tokens) = try await op.registerAndLogIn()
            let uri = try await op.client.logoutURI(
                oxdID: oxdID, idTokenHint: tokens.idToken, postLogoutRedirectURI: ConformanceOP.postLogoutRedirectURI,
                state: "bye-1").uri
            let response = try await op.fake.send(HTTPRequest(url: try #require(URL(string: uri))))
            #expect(response.status == 302)
            #expect(response.header("location") == ConformanceOP.postLogoutRedirectURI + "?state=bye-1")
        }

        // MARK: Back-channel logout

        /// A logout token for the site, signed as the OP signs, with `edit` applied to its claims.
        func logoutToken(_ op: ConformanceOP, oxdID: String, signing key: OPSigningKey? = nil,
                         _ edit: (inout [String: JSONValue]) -> Void = { _ in }) async throws -> String {
            let clientID = try await op.client.site(oxdID: oxdID).clientID
            var claims: [String: JSONValue] = [
                "iss": .string(op.issuer), "aud": .string(clientID), "iat": .integer(Int64(Date().timeIntervalSince1970)),
                "jti": .string(UUID().uuidString), "sub": .string("alice"), "sid": .string("session-1"),
                "events": .object([LogoutTokenValidator.backChannelLogoutEvent: .object([:])]),
            ]
            edit(&claims)
            if let key { return try key.sign(claims, clientSecret: "not-the-client-secret") }
            return try op.fake.sign(claims, clientID: clientID)
        }

        /// The error code validate_logout_token answers for a token made by `make`.
        func logoutError(signing key: OPSigningKey? = nil,
                         _ edit: (inout [String: JSONValue]) -> Void = { _ in }) async throws -> String? {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite()
            let token = try await logoutToken(op, oxdID: oxdID, signing: key, edit)
            return try await op.errorCode { _ = try await op.client.validateLogoutToken(oxdID: oxdID, logoutToken: token) }
        }

        @Test("rp-backchannel-rpinitlogout: accepted") func test_rp_backchannel_rpinitlogout() async throws {
            let op = try ConformanceOP(signing: Self.rs256())
            let oxdID = try await op.registerSite()
            let token = try await logoutToken(op, oxdID: oxdID)
            let result = try await op.client.validateLogoutToken(oxdID: oxdID, logoutToken: token)
            #expect(result.sub == "alice")
            #expect(result.sid == "session-1")
        }

        @Test("rp-backchannel-rpinitlogout-lt-alg-none: logout_token_invalid")
        func test_rp_backchannel_rpinitlogout_lt_alg_none() async throws {
            #expect(try await logoutError(signing: OPSigningKey(.none, keyID: nil)) == "logout_token_invalid")
        }

        @Test("rp-backchannel-rpinitlogout-lt-no-event: logout_token_invalid")
        func test_rp_backchannel_rpinitlogout_lt_no_event() async throws {
            #expect(try await logoutError { $0["events"] = nil } == "logout_token_invalid")
        }

        @Test("rp-backchannel-rpinitlogout-lt-with-nonce: logout_token_invalid")
        func test_rp_backchannel_rpinitlogout_lt_with_nonce() async throws {
            #expect(try await logoutError { $0["nonce"] = .string("n-0S6_WzA2Mj") } == "logout_token_invalid")
        }

        @Test("rp-backchannel-rpinitlogout-lt-wrong-alg: logout_token_invalid")
        func test_rp_backchannel_rpinitlogout_lt_wrong_alg() async throws {
            #expect(try await logoutError(signing: OPSigningKey(.hs256, keyID: nil)) == "logout_token_invalid")
        }

        @Test("rp-backchannel-rpinitlogout-lt-wrong-aud: logout_token_invalid")
        func test_rp_backchannel_rpinitlogout_lt_wrong_aud() async throws {
            #expect(try await logoutError { $0["aud"] = .string("another-client") } == "logout_token_invalid")
        }

        @Test("rp-backchannel-rpinitlogout-lt-wrong-event: logout_token_invalid")
        func test_rp_backchannel_rpinitlogout_lt_wrong_event() async throws {
            #expect(try await logoutError {
                $0["events"] = .object(["http://schemas.openid.net/event/other": .object([:])])
            } == "logout_token_invalid")
        }

        @Test("rp-backchannel-rpinitlogout-lt-wrong-issuer: logout_token_invalid")
        func test_rp_backchannel_rpinitlogout_lt_wrong_issuer() async throws {
            #expect(try await logoutError { $0["iss"] = .string("https://example.org/") } == "logout_token_invalid")
        }
    }
}
