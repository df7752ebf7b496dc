import Foundation
import RelydBasics
import RelydHTTP
import RelydOIDC
import RelydProtocol
import RelydStore
import RelydTestSupport
import Testing

/// The engine's answer to a token signed with a key the cached JWKS lacks: one refetch, rate-limited.
@Suite struct KeyRotationTests {
    let clock = FakeClock(Date(timeIntervalSince1970: 1_700_000_100))
    let op: FakeOP
    let cache: ProviderCache
    let environment: OIDCEnvironment

    init() {
        op = FakeOP(issuer: "https://op.example.com", clock: clock)
        environment = OIDCEnvironment(settings: OIDCSettings(), transport: op, clock: clock,
                                      random: SequentialRandom(), logger: .discarding)
        cache = ProviderCache(environment: environment)
    }

    /// The fixture's main JWKS as the OP would serve it.
    static var mainKeySet: HTTPResponse {
        let documents = (try? JSONDecoder().decode([String: JSONValue].self, from: JOSEFixtures.data("jwks"))) ?? [:]
        return FakeOP.json(documents["main"]?.objectValue ?? [:])
    }

    func validate(_ token: String) async throws -> ValidatedIDToken {
        let provider = try await cache.metadata(issuer: op.issuer)
        let site = Site(
            id: "site", opHost: op.issuer, clientID: "relyd-client", clientSecret: nil, clientSecretExpiresAt: nil,
            registrationAccessToken: nil, registrationClientURI: nil, redirectURI: "https://rp.example/cb",
            postLogoutRedirectURI: nil, scopes: ["openid"], clientName: nil, grantTypes: [], responseTypes: [],
            tokenEndpointAuthMethod: "client_secret_basic", idTokenSignedResponseAlg: "RS256",
            isDynamicallyRegistered: false, createdAt: clock.now())
        let expectations = IDTokenExpectations(
            issuer: op.issuer, clientID: "relyd-client", nonce: "n-0S6_WzA2Mj", allowedAlgorithms: [.rs256],
            now: clock.now())
        return try await IDTokenVerification.validate(Secret(token), site: site, provider: provider, cache: cache,
                                                      expectations: expectations)
    }

    var rs256Token: String { JOSEFixtures.validCases.first { $0.name == "valid-RS256" }?.token ?? "" }

    /// A new kid makes relyd fetch the JWKS once more, and the token is then accepted.
    @Test func newKeyID_refetchesOnce_andSucceeds() async throws {
        let served = Locked(0)
        op.override(path: "/jwks") { _ in
            served.withLock { count -> Int in count += 1; return count } == 1 ? FakeOP.json(["keys": .array([])]) : Self.mainKeySet
        }
        let validated = try await validate(rs256Token)
        #expect(validated.subject == "248289761001")
        #expect(op.requests(to: "/jwks").count == 2)
    }

    /// A kid the OP never publishes fails with id_token_invalid after one refetch, and a burst of such tokens
    /// causes no further fetch within the refetch interval.
    @Test func absentKeyID_failsAfterOneRefetch_withoutAStorm() async throws {
        op.override(path: "/jwks") { _ in FakeOP.json(["keys": .array([])]) }
        for _ in 0..<20 {
            await #expect(throws: RelydError(.idTokenInvalid)) { try await validate(rs256Token) }
        }
        #expect(op.requests(to: "/jwks").count == 2)
        clock.advance(by: 11)
        await #expect(throws: RelydError(.idTokenInvalid)) { try await validate(rs256Token) }
        #expect(op.requests(to: "/jwks").count == 3)
    }
}
