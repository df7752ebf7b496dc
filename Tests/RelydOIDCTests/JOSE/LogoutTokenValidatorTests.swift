import Foundation
import RelydOIDC
import RelydProtocol
import Testing

/// The logout token cases of Fixtures/logout_tokens.json (make_logout_fixtures.py, Python `cryptography`).
enum LogoutTokenFixtures {
    struct TokenCase: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let description: String
        let token: String
        /// "valid", "replayed", or the raw value of the `IDTokenFailure.Check` the token must fail.
        let expect: String
        let expectations: [String: JSONValue]
        var testDescription: String { "\(name): \(description)" }
    }

    private struct File: Decodable {
        let jwks: JSONValue
        let defaults: [String: JSONValue]
        let cases: [TokenCase]
    }

    private static let file: File = {
        do {
            return try JSONDecoder().decode(File.self, from: JOSEFixtures.data("logout_tokens"))
        } catch {
            preconditionFailure("cannot decode logout_tokens.json: \(error)")
        }
    }()

    static let validCases = file.cases.filter { $0.expect == "valid" }
    static let invalidCases = file.cases.filter { $0.expect != "valid" && $0.expect != "replayed" }
    static let replayCases = file.cases.filter { $0.expect == "replayed" }

    static func keys() throws -> JWKSet { try JWKSet(json: JSONEncoder().encode(file.jwks)) }

    /// The file's default expectations with the case's overrides applied.
    static func expectations(for tokenCase: TokenCase) throws -> LogoutTokenExpectations {
        let values = file.defaults.merging(tokenCase.expectations) { $1 }
        let algorithms = try #require(values["allowedAlgorithms"]?.arrayValue).compactMap {
            $0.stringValue.flatMap(JWSAlgorithm.init(rawValue:))
        }
        return LogoutTokenExpectations(
            issuer: try #require(values["issuer"]?.stringValue),
            clientID: try #require(values["clientID"]?.stringValue),
            allowedAlgorithms: Set(algorithms),
            clientSecret: values["clientSecret"]?.stringValue,
            now: Date(timeIntervalSince1970: TimeInterval(try #require(values["now"]?.int64Value))),
            clockSkew: TimeInterval(try #require(values["clockSkew"]?.int64Value)),
            maximumAge: TimeInterval(try #require(values["maximumAge"]?.int64Value)))
    }
}

@Suite("Logout token validation (Back-Channel Logout 1.0, 2.6) against independently made tokens")
struct LogoutTokenValidatorTests {
    /// Every valid fixture token (sub only, sid only, both, no exp, HS256) is accepted with its identifiers.
    @Test(arguments: LogoutTokenFixtures.validCases)
    func validTokenIsAccepted(_ tokenCase: LogoutTokenFixtures.TokenCase) throws {
        let expectations = try LogoutTokenFixtures.expectations(for: tokenCase)
        let token = try LogoutTokenValidator.validate(tokenCase.token, expectations: expectations,
                                                      keys: LogoutTokenFixtures.keys())
        #expect(token.issuer == expectations.issuer)
        #expect(token.subject != nil || token.sessionID != nil)
        #expect(!token.tokenID.isEmpty)
        #expect(token.acceptableUntil > expectations.now)
    }

    /// Every invalid fixture token is rejected by exactly the check it violates, with no part of it in the message.
    @Test(arguments: LogoutTokenFixtures.invalidCases)
    func invalidTokenIsRejectedByItsCheck(_ tokenCase: LogoutTokenFixtures.TokenCase) throws {
        let expected = try #require(IDTokenFailure.Check(rawValue: tokenCase.expect))
        let failure = try #require(throws: IDTokenFailure.self) {
            try LogoutTokenValidator.validate(tokenCase.token,
                                              expectations: LogoutTokenFixtures.expectations(for: tokenCase),
                                              keys: LogoutTokenFixtures.keys())
        }
        #expect(failure.check == expected)
        for part in tokenCase.token.split(separator: ".") where part.count > 8 {
            #expect(!failure.message.contains(part))
        }
    }

    /// A valid token is recorded once; presenting its jti again is a replay.
    @Test(arguments: LogoutTokenFixtures.replayCases)
    func replayedTokenIsRefusedTheSecondTime(_ tokenCase: LogoutTokenFixtures.TokenCase) async throws {
        let expectations = try LogoutTokenFixtures.expectations(for: tokenCase)
        let cache = TokenReplayCache()
        for expectedFresh in [true, false] {
            let token = try LogoutTokenValidator.validate(tokenCase.token, expectations: expectations,
                                                          keys: LogoutTokenFixtures.keys())
            let fresh = await cache.record(issuer: token.issuer, tokenID: token.tokenID,
                                           until: token.acceptableUntil, now: expectations.now)
            #expect(fresh == expectedFresh)
        }
    }

    /// The acceptance window is the earlier of exp and iat plus the maximum age, plus the skew.
    @Test func acceptableUntilIsTheEarlierBound() throws {
        let tokenCase = try #require(LogoutTokenFixtures.validCases.first { $0.name == "valid-sub-and-sid" })
        var expectations = try LogoutTokenFixtures.expectations(for: tokenCase)
        let keys = try LogoutTokenFixtures.keys()
        // exp is iat + 120, earlier than iat + 300.
        #expect(try LogoutTokenValidator.validate(tokenCase.token, expectations: expectations, keys: keys)
            .acceptableUntil == Date(timeIntervalSince1970: 1_700_000_000 + 120 + 60))
        expectations.maximumAge = 30
        #expect(try LogoutTokenValidator.validate(tokenCase.token, expectations: expectations, keys: keys)
            .acceptableUntil == Date(timeIntervalSince1970: 1_700_000_000 + 30 + 60))
    }
}

@Suite struct TokenReplayCacheTests {
    /// The same jti from another issuer is not a replay.
    @Test func sameTokenIDOfAnotherIssuerIsFresh() async {
        let cache = TokenReplayCache()
        let now = Date(timeIntervalSince1970: 1_700_000_000), until = now.addingTimeInterval(60)
        #expect(await cache.record(issuer: "https://a", tokenID: "j", until: until, now: now))
        #expect(await cache.record(issuer: "https://b", tokenID: "j", until: until, now: now))
        #expect(await !cache.record(issuer: "https://a", tokenID: "j", until: until, now: now))
    }

    /// The cache never holds more than its capacity; expired entries are dropped first.
    @Test func sizeIsBounded() async {
        let cache = TokenReplayCache(capacity: 3)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        for index in 0..<10 {
            #expect(await cache.record(issuer: "https://a", tokenID: "j\(index)",
                                       until: now.addingTimeInterval(TimeInterval(100 + index)), now: now))
        }
        #expect(await cache.count == 3)
        // The most recent entries are kept, so the newest jti is still a replay.
        #expect(await !cache.record(issuer: "https://a", tokenID: "j9", until: now.addingTimeInterval(200), now: now))
        // Once expired, an entry no longer blocks (the token itself is refused by its iat/exp by then).
        #expect(await cache.record(issuer: "https://a", tokenID: "j9", until: now.addingTimeInterval(900),
                                   now: now.addingTimeInterval(500)))
    }
}
