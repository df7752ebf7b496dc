import Foundation
import RelydBasics
import RelydHTTP
@testable import RelydOIDC
import RelydProtocol
import RelydTestSupport
import Testing

/// Discovery and JWKS caching: lifetime, Cache-Control, coalescing, and the rate-limited refetch on key rotation.
@Suite struct ProviderCacheTests {
    let clock = FakeClock()
    let op: FakeOP
    let cache: ProviderCache

    init() {
        op = FakeOP(clock: clock)
        var settings = OIDCSettings()
        settings.metadataCacheLifetime = 3600
        settings.minimumKeyRefetchInterval = 10
        cache = ProviderCache(environment: OIDCEnvironment(
            settings: settings, transport: op, clock: clock, random: SequentialRandom(), logger: .discarding))
    }

    /// A fresh discovery document is served from the cache; an old one is fetched again.
    @Test func discovery_isCachedForItsLifetime() async throws {
        _ = try await cache.metadata(issuer: op.issuer)
        _ = try await cache.metadata(issuer: op.issuer)
        #expect(op.requests(to: "/openid-configuration").count == 1)
        clock.advance(by: 3601)
        _ = try await cache.metadata(issuer: op.issuer)
        #expect(op.requests(to: "/openid-configuration").count == 2)
    }

    /// Fifty concurrent requests for the same document cause one fetch.
    @Test func concurrentFetches_coalesce() async throws {
        let gate = RequestGate()
        op.override(path: "/.well-known/openid-configuration") { [op] _ in
            await gate.pass()
            return FakeOP.json(op.discovery())
        }
        let issuers = await gate.overlappingCalls(50) { [cache, op] in try? await cache.metadata(issuer: op.issuer).issuer }
        #expect(issuers.allSatisfy { $0 == op.issuer })
        #expect(op.requests(to: "/openid-configuration").count == 1)
    }

    /// Cache-Control max-age sets the lifetime, within bounds.
    @Test func cacheControl_setsTheLifetime() {
        #expect(ProviderCache.cacheLifetime("public, max-age=120") == 120)
        #expect(ProviderCache.cacheLifetime("max-age=5") == 60)
        #expect(ProviderCache.cacheLifetime("max-age=999999") == 86_400)
        #expect(ProviderCache.cacheLifetime("no-store") == 60)
        #expect(ProviderCache.cacheLifetime("private") == nil)
        #expect(ProviderCache.cacheLifetime(nil) == nil)
    }

    /// An unknown key refetches the JWKS even right after an ordinary fetch, but such refetches happen at most once
    /// per interval.
    @Test func unknownKeyRefetch_isRateLimited() async throws {
        let provider = try await cache.metadata(issuer: op.issuer)
        _ = try await cache.keys(for: provider)
        _ = try await cache.keys(for: provider, refreshingForUnknownKey: true)
        #expect(op.requests(to: "/jwks").count == 2)
        _ = try await cache.keys(for: provider, refreshingForUnknownKey: true)
        #expect(op.requests(to: "/jwks").count == 2)
        clock.advance(by: 11)
        _ = try await cache.keys(for: provider, refreshingForUnknownKey: true)
        _ = try await cache.keys(for: provider, refreshingForUnknownKey: true)
        #expect(op.requests(to: "/jwks").count == 3)
    }

    /// A JWKS that is not a key set is op_response_invalid.
    @Test func malformedJWKS_isOPResponseInvalid() async throws {
        op.override(path: "/jwks") { _ in FakeOP.json(["keys": .string("nope")]) }
        let provider = try await cache.metadata(issuer: op.issuer)
        await #expect(throws: RelydError(.opResponseInvalid)) { try await cache.keys(for: provider) }
    }

    /// Discovery must name every endpoint relyd needs, with acceptable URLs.
    @Test(arguments: ["authorization_endpoint", "token_endpoint", "jwks_uri"])
    func discoveryWithoutARequiredEndpoint_isOPResponseInvalid(member: String) async {
        op.discoveryEdits = { $0[member] = nil }
        await #expect(throws: RelydError(.opResponseInvalid)) { try await cache.metadata(issuer: op.issuer) }
    }

    /// An endpoint over plain http on a public host is refused.
    @Test func discoveryWithHTTPEndpoint_isOPResponseInvalid() async {
        op.discoveryEdits = { $0["token_endpoint"] = .string("http://op.example/token") }
        await #expect(throws: RelydError(.opResponseInvalid)) { try await cache.metadata(issuer: op.issuer) }
    }
}

/// PKCE S256 against RFC 7636 appendix B.
@Suite struct PKCETests {
    /// The RFC's example verifier gives the RFC's challenge.
    @Test func challenge_matchesRFC7636AppendixB() throws {
        #expect(try PKCE.challenge(forVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }
}
