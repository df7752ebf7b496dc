import Foundation
import RelydOIDC
import Testing

@Suite("ID token validation (OIDC Core 3.1.3.7) against independently made tokens")
struct IDTokenValidatorTests {
    /// Every valid fixture token (each algorithm family, kid-less selection, skew, aud with azp) is accepted.
    @Test(arguments: JOSEFixtures.validCases)
    func validTokenIsAccepted(_ tokenCase: JOSEFixtures.TokenCase) throws {
        let expectations = try JOSEFixtures.expectations(for: tokenCase)
        let token = try IDTokenValidator.validate(tokenCase.token, expectations: expectations,
                                                  keys: JOSEFixtures.keys(for: tokenCase))
        #expect(token.subject == "248289761001")
        #expect(token.issuer == expectations.issuer)
        #expect(token.expiresAt >= Date(timeIntervalSince1970: 1_700_000_000))
        #expect(token.claims["email"]?.stringValue == "jane@example.com")
    }

    /// Every invalid fixture token is rejected by exactly the check it violates.
    @Test(arguments: JOSEFixtures.invalidCases)
    func invalidTokenIsRejectedByItsCheck(_ tokenCase: JOSEFixtures.TokenCase) throws {
        let expected = try #require(IDTokenFailure.Check(rawValue: tokenCase.expect))
        let failure = try #require(throws: IDTokenFailure.self) {
            try IDTokenValidator.validate(tokenCase.token, expectations: JOSEFixtures.expectations(for: tokenCase),
                                          keys: JOSEFixtures.keys(for: tokenCase))
        }
        #expect(failure.check == expected)
        // The message is for logs: it must not carry any part of the token.
        for part in tokenCase.token.split(separator: ".") where part.count > 8 {
            #expect(!failure.message.contains(part))
        }
    }

    /// Each valid token is refused with `algorithm` once its alg is removed from the allowed set.
    @Test(arguments: JOSEFixtures.validCases)
    func tokenWithAlgorithmOutsideAllowedSetIsRefused(_ tokenCase: JOSEFixtures.TokenCase) throws {
        var expectations = try JOSEFixtures.expectations(for: tokenCase)
        let algorithm = try JWS(compact: tokenCase.token).header.algorithm
        expectations.allowedAlgorithms.remove(algorithm)
        let failure = try #require(throws: IDTokenFailure.self) {
            try IDTokenValidator.validate(tokenCase.token, expectations: expectations,
                                          keys: JOSEFixtures.keys(for: tokenCase))
        }
        #expect(failure.check == .algorithm)
    }

    /// A valid asymmetric token is `unknownKey` against an empty key set, the signal to refetch the JWKS.
    @Test func asymmetricTokenWithEmptyKeySetIsUnknownKey() throws {
        let tokenCase = try #require(JOSEFixtures.validCases.first { $0.name == "valid-RS256" })
        let failure = try #require(throws: IDTokenFailure.self) {
            try IDTokenValidator.validate(tokenCase.token, expectations: JOSEFixtures.expectations(for: tokenCase),
                                          keys: JWKSet(keys: []))
        }
        #expect(failure.check == .unknownKey)
    }

    /// A token whose exp has passed by more than the skew is expired, and accepted with the clock moved back.
    @Test func expiryFollowsTheInjectedClock() throws {
        let tokenCase = try #require(JOSEFixtures.validCases.first { $0.name == "valid-ES256" })
        let keys = try JOSEFixtures.keys(for: tokenCase)
        var expectations = try JOSEFixtures.expectations(for: tokenCase)
        expectations.now = Date(timeIntervalSince1970: 1_700_003_600 + 60)
        let failure = try #require(throws: IDTokenFailure.self) {
            try IDTokenValidator.validate(tokenCase.token, expectations: expectations, keys: keys)
        }
        #expect(failure.check == .expired)
        expectations.now = Date(timeIntervalSince1970: 1_700_003_600 + 59)
        #expect(throws: Never.self) { try IDTokenValidator.validate(tokenCase.token, expectations: expectations, keys: keys) }
    }

    /// An unsigned token passes only with `acceptsUnsigned` and `none` allowed, and only with an empty signature part.
    @Test func unsignedTokenNeedsTheExplicitOptInAndAnEmptySignature() throws {
        let header = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8))
        let payload = Base64URL.encode(Array(
            #"{"aud":"client","exp":1700003600,"iat":1700000000,"iss":"https://op.example","sub":"alice"}"#.utf8))
        let unsigned = header + "." + payload + "."
        func check(_ token: String, allowing: Set<JWSAlgorithm>, acceptsUnsigned: Bool) -> IDTokenFailure.Check? {
            let expectations = IDTokenExpectations(
                issuer: "https://op.example", clientID: "client", allowedAlgorithms: allowing,
                now: Date(timeIntervalSince1970: 1_700_000_100), acceptsUnsigned: acceptsUnsigned)
            do {
                _ = try IDTokenValidator.validate(token, expectations: expectations, keys: JWKSet(keys: []))
                return nil
            } catch {
                return error.check
            }
        }
        #expect(check(unsigned, allowing: [.none], acceptsUnsigned: true) == nil)
        #expect(check(unsigned, allowing: [.none], acceptsUnsigned: false) == .algorithm)
        #expect(check(unsigned, allowing: [.rs256], acceptsUnsigned: true) == .algorithm)
        #expect(check(unsigned + "c2ln", allowing: [.none], acceptsUnsigned: true) == .algorithm)
    }
}
