#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydHTTP
import RelydProtocol

/// Discovery documents and JWKS, cached per issuer and shared by every site of that issuer.
///
/// Design: one actor owns the cache. A fetch in progress is stored as a `Task`, so concurrent requests for the same
/// document wait for that one fetch instead of each calling the OP (coalescing). Entries live for the OP's
/// Cache-Control `max-age` when it sends one (bounded to a minute … a day), otherwise for the configured lifetime.
/// A JWKS is refetched before its lifetime ends only when a token names a key it lacks (key rotation); such
/// refetches happen at most once per `minimumKeyRefetchInterval` for each JWKS URL.
public actor ProviderCache {
    private struct Entry<Value: Sendable> {
        var value: Value
        var fetchedAt: Date
        var expiresAt: Date
    }

    private let environment: OIDCEnvironment
    private var metadata: [String: Entry<ProviderMetadata>] = [:]
    private var metadataFetches: [String: Task<Entry<ProviderMetadata>, any Error>] = [:]
    private var keySets: [URL: Entry<JWKSet>] = [:]
    private var keySetFetches: [URL: Task<Entry<JWKSet>, any Error>] = [:]
    private var lastUnknownKeyRefetch: [URL: Date] = [:]
    /// Lookups of discovery documents and of JWKS, for `stats`.
    public nonisolated let metadataCounters = CacheCounters()
    public nonisolated let keySetCounters = CacheCounters()

    public init(environment: OIDCEnvironment) {
        self.environment = environment
    }

    /// The checked discovery document of `issuer`, from the cache when fresh.
    ///
    /// - Throws: `invalid_parameter` when the issuer is not an acceptable URL, `op_not_allowed` when it is not in
    ///   `allowed_op_hosts`, then the errors of
    ///   ``ProviderMetadata/init(document:expectedIssuer:http:)`` and ``ProviderHTTPClient``.
    public func metadata(issuer: String) async throws -> ProviderMetadata {
        let now = environment.clock.now()
        if let entry = metadata[issuer], entry.expiresAt > now {
            metadataCounters.recordHit()
            return entry.value
        }
        if let fetch = metadataFetches[issuer] {
            metadataCounters.recordHit()
            return try await fetch.value.value
        }
        metadataCounters.recordMiss()
        let environment = self.environment
        let fetch = Task { () async throws -> Entry<ProviderMetadata> in
            let issuerURL = try environment.http.endpointURL(issuer, field: "op_host", code: .invalidParameter)
            try environment.settings.allowedOPHosts.check(issuer: issuer)
            let url = ProviderMetadata.discoveryURL(forIssuer: issuerURL)
            let (document, response) = try await environment.http.jsonObject(
                HTTPRequest(url: url, headers: [("Accept", "application/json")]), what: "discovery document")
            let value = try ProviderMetadata(document: document, expectedIssuer: issuer, http: environment.http)
            return Self.entry(value, response: response, environment: environment)
        }
        metadataFetches[issuer] = fetch
        defer { metadataFetches[issuer] = nil }
        let entry = try await fetch.value
        metadata[issuer] = entry
        environment.logger.debug("discovery document fetched", ("op.issuer", issuer))
        return entry.value
    }

    /// The OP's signing keys, from the cache when fresh.
    ///
    /// - Parameter refreshingForUnknownKey: true after a token named a key the cached set lacks; the set is then
    ///   refetched unless another such refetch happened less than `minimumKeyRefetchInterval` ago.
    public func keys(for provider: ProviderMetadata, refreshingForUnknownKey: Bool = false) async throws -> JWKSet {
        let url = provider.jwksURI
        let now = environment.clock.now()
        if refreshingForUnknownKey {
            // Rate-limit only the refetches that unknown key ids cause: a rotation right after an ordinary fetch
            // must still be seen, while a burst of made-up key ids costs the OP one request per interval.
            let interval = environment.settings.minimumKeyRefetchInterval
            if let last = lastUnknownKeyRefetch[url], now.timeIntervalSince(last) < interval,
               let entry = keySets[url] {
                keySetCounters.recordHit()
                return entry.value
            }
            lastUnknownKeyRefetch[url] = now
        } else if let entry = keySets[url], entry.expiresAt > now {
            keySetCounters.recordHit()
            return entry.value
        }
        if let fetch = keySetFetches[url] {
            keySetCounters.recordHit()
            return try await fetch.value.value
        }
        keySetCounters.recordMiss()
        let environment = self.environment
        let fetch = Task { () async throws -> Entry<JWKSet> in
            let response = try await environment.http.send(
                HTTPRequest(url: url, headers: [("Accept", "application/json, application/jwk-set+json")]))
            guard (200..<300).contains(response.status) else {
                throw ProviderHTTPClient.failure(for: response, what: "JWKS")
            }
            do {
                return Self.entry(try JWKSet(json: response.body), response: response, environment: environment)
            } catch let error as JOSEError {
                throw RelydError(.opResponseInvalid, "the JWKS is not a valid JWK set: \(error.message)")
            }
        }
        keySetFetches[url] = fetch
        defer { keySetFetches[url] = nil }
        let entry = try await fetch.value
        keySets[url] = entry
        environment.logger.debug("jwks fetched", ("op.jwks_uri", url.absoluteString))
        return entry.value
    }

    private static func entry<Value>(_ value: Value, response: HTTPResponse, environment: OIDCEnvironment) -> Entry<Value> {
        let now = environment.clock.now()
        let lifetime = cacheLifetime(response.header("cache-control")) ?? environment.settings.metadataCacheLifetime
        return Entry(value: value, fetchedAt: now, expiresAt: now.addingTimeInterval(lifetime))
    }

    /// The lifetime a Cache-Control header grants: `no-store`/`no-cache` mean a minute (the floor, so a
    /// misconfigured OP is not hammered), `max-age` is bounded to 60 s … 24 h.
    static func cacheLifetime(_ header: String?) -> TimeInterval? {
        guard let header else { return nil }
        var lifetime: TimeInterval?
        for directive in header.lowercased().split(separator: ",") {
            let parts = directive.trimmingWhitespace().split(separator: "=", maxSplits: 1)
            switch parts.first {
            case "no-store", "no-cache":
                return 60
            case "max-age" where parts.count == 2:
                if let seconds = Double(parts[1].trimmingScalars(in: "\" ")) {
                    lifetime = min(max(seconds, 60), 86_400)
                }
            default:
                continue
            }
        }
        return lifetime
    }
}
