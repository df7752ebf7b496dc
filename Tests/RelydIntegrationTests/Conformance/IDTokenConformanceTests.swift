import Foundation
import RelydClient
import RelydOIDC
import RelydProtocol
import RelydTestSupport
import Testing

extension Conformance {
    /// The ID token cases of the OpenID RP certification (Basic profile, Core 3.1.3.7) and the token-validation
    /// hostilities around them, each run through the real relyd against a loopback OP that signs or breaks the token.
    @Suite(.sharedRelyd()) struct IDTokenConformanceTests {
        static func key(_ algorithm: JWSAlgorithm, kid: String? = "k1", generation: Int = 0) throws -> OPSigningKey {
            try OPSigningKey(algorithm, keyID: kid, generation: generation)
        }

        @Test("rp-id_token-sig-rs256: accepted") func test_rp_id_token_sig_rs256() async throws {
            let op = try ConformanceOP(signing: Self.key(.rs256))
            let (_, tokens) = try await op.registerAndLogIn()
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
        }

        @Test("rp-id_token-sig-es256: accepted") func test_rp_id_token_sig_es256() async throws {
            let op = try ConformanceOP(signing: Self.key(.es256))
            let (_, tokens) = try await op.registerAndLogIn()
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
        }

        @Test("rp-id_token-sig-hs256: accepted") func test_rp_id_token_sig_hs256() async throws {
            let op = try ConformanceOP(signing: Self.key(.hs256, kid: nil))
            let (_, tokens) = try await op.registerAndLogIn(idTokenSignedResponseAlg: "HS256")
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
        }

        @Test("id_token-sig-eddsa: accepted (Ed25519)") func test_id_token_sig_eddsa() async throws {
            let op = try ConformanceOP(signing: Self.key(.edDSA))
            let (_, tokens) = try await op.registerAndLogIn()
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
        }

        @Test("rp-id_token-sig-none: id_token_invalid unless the site registered none")
        func test_rp_id_token_sig_none() async throws {
            let op = try ConformanceOP(signing: Self.key(.none, kid: nil))
            #expect(try await op.codeFlowError() == "id_token_invalid")
        }

        @Test("rp-id_token-sig-none-opted-in: accepted from the token endpoint for a site registered with id_token_signed_response_alg none")
        func test_rp_id_token_sig_none_optedIn() async throws {
            let op = try ConformanceOP(signing: Self.key(.none, kid: nil))
            let (oxdID, tokens) = try await op.registerAndLogIn(idTokenSignedResponseAlg: "none")
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
            // The same unsigned token handed in by an app is still refused.
            let idToken = try #require(tokens.idToken)
            #expect(try await op.errorCode { _ = try await op.client.checkIDToken(oxdID: oxdID, idToken: idToken) }
                == "id_token_invalid")
        }

        @Test("rp-id_token-bad-sig-rs256: id_token_invalid") func test_rp_id_token_bad_sig_rs256() async throws {
            try await expectBrokenSignatureRefused(Self.key(.rs256))
        }

        @Test("rp-id_token-bad-sig-es256: id_token_invalid") func test_rp_id_token_bad_sig_es256() async throws {
            try await expectBrokenSignatureRefused(Self.key(.es256))
        }

        @Test("rp-id_token-bad-sig-hs256: id_token_invalid") func test_rp_id_token_bad_sig_hs256() async throws {
            try await expectBrokenSignatureRefused(Self.key(.hs256, kid: nil), registering: "HS256")
        }

        func expectBrokenSignatureRefused(_ key: OPSigningKey, registering alg: String? = nil) async throws {
            let op = try ConformanceOP(signing: key)
            op.fake.tokenResponseEdits = { answer in
                answer["id_token"] = answer["id_token"]?.stringValue.map { .string($0.withBrokenSignature) }
            }
            #expect(try await op.codeFlowError(idTokenSignedResponseAlg: alg) == "id_token_invalid")
        }

        /// A token whose claims are edited before signing is refused with id_token_invalid.
        func expectClaimsRefused(_ edit: @escaping @Sendable (inout [String: JSONValue]) -> Void) async throws {
            let op = try ConformanceOP(signing: Self.key(.rs256))
            op.fake.idTokenClaimEdits = edit
            #expect(try await op.codeFlowError() == "id_token_invalid")
        }

        @Test("rp-id_token-issuer-mismatch: id_token_invalid") func test_rp_id_token_issuer_mismatch() async throws {
            try await expectClaimsRefused { $0["iss"] = .string("https://example.org/") }
        }

        @Test("rp-id_token-aud: id_token_invalid") func test_rp_id_token_aud() async throws {
            try await expectClaimsRefused { $0["aud"] = .string("another-client") }
        }

        @Test("rp-id_token-iat: id_token_invalid (no iat)") func test_rp_id_token_iat() async throws {
            try await expectClaimsRefused { $0["iat"] = nil }
        }

        @Test("rp-id_token-sub: id_token_invalid (no sub)") func test_rp_id_token_sub() async throws {
            try await expectClaimsRefused { $0["sub"] = nil }
        }

        @Test("rp-id_token-bad-at_hash: id_token_invalid") func test_rp_id_token_bad_at_hash() async throws {
            try await expectClaimsRefused { $0["at_hash"] = .string("aaaaaaaaaaaaaaaaaaaaaa") }
        }

        @Test("id_token-expired-exp: id_token_invalid") func test_id_token_expired() async throws {
            try await expectClaimsRefused { claims in
                claims["iat"] = .integer(Int64(Date().timeIntervalSince1970) - 3600)
                claims["exp"] = .integer(Int64(Date().timeIntervalSince1970) - 600)
            }
        }

        @Test("id_token-future-nbf: id_token_invalid") func test_id_token_future_nbf() async throws {
            try await expectClaimsRefused { $0["nbf"] = .integer(Int64(Date().timeIntervalSince1970) + 3600) }
        }

        @Test("id_token-azp-mismatch-several-aud: id_token_invalid")
        func test_id_token_azp_mismatch_several_audiences() async throws {
            try await expectClaimsRefused { claims in
                claims["aud"] = .array([claims["aud"] ?? .null, .string("another-client")])
                claims["azp"] = .string("another-client")
            }
        }

        @Test("id_token-several-aud-without-azp: id_token_invalid")
        func test_id_token_several_audiences_without_azp() async throws {
            try await expectClaimsRefused { claims in
                claims["aud"] = .array([claims["aud"] ?? .null, .string("another-client")])
            }
        }

        @Test("id_token-several-aud-azp-client: accepted")
        func test_id_token_several_audiences_with_azp() async throws {
            let op = try ConformanceOP(signing: Self.key(.rs256))
            op.fake.idTokenClaimEdits = { claims in
                claims["azp"] = claims["aud"]
                claims["aud"] = .array([claims["aud"] ?? .null, .string("another-client")])
            }
            let (_, tokens) = try await op.registerAndLogIn()
            #expect(tokens.idTokenClaims?["azp"] != nil)
        }

        @Test("rp-id_token-missing-at_hash: accepted (code flow: at_hash is optional)")
        func test_rp_id_token_missing_at_hash() async throws {
            let op = try ConformanceOP(signing: Self.key(.rs256))
            op.fake.idTokenClaimEdits = { $0["at_hash"] = nil }
            let (_, tokens) = try await op.registerAndLogIn()
            #expect(tokens.idTokenClaims?["at_hash"] == nil)
        }

        @Test("rp-nonce-invalid: id_token_invalid") func test_rp_nonce_invalid() async throws {
            try await expectClaimsRefused { $0["nonce"] = .string("not-the-nonce-relyd-sent") }
        }

        @Test("rp-id_token-kid-absent-single-jwks: accepted") func test_rp_id_token_kid_absent_single_jwks() async throws {
            let op = try ConformanceOP(signing: Self.key(.rs256, kid: nil))
            let (_, tokens) = try await op.registerAndLogIn()
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
        }

        @Test("rp-id_token-kid-absent-multiple-jwks: accepted (every key fitting the alg is tried)")
        func test_rp_id_token_kid_absent_multiple_jwks() async throws {
            let op = try ConformanceOP()
            op.use(try Self.key(.rs256, kid: nil, generation: 1), alsoPublishing: [try Self.key(.rs256, kid: nil)])
            // The signing key is published second, so trying only the first key would fail.
            op.fake.publishedKeys.reverse()
            let (_, tokens) = try await op.registerAndLogIn()
            #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
        }
    }
}
