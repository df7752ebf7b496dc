#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydProtocol

/// An access token a site obtained for itself with the client credentials grant (RFC 6749 4.4).
public struct ClientToken: Sendable, Equatable {
    public var accessToken: Secret
    public var tokenType: String
    /// The granted scopes: the OP's `scope`, or the requested ones when it sent none (RFC 6749 5.1).
    public var scopes: [String]
    /// nil when the OP did not say (`expires_in` absent); such a token is not cached.
    public var expiresAt: Date?
}

/// Client-credentials tokens, cached in memory per site and scope set until shortly before they expire.
///
/// Why memory only: these tokens act for the site itself, not for a user; an app asks for one whenever it needs
/// it, so keeping them on disk would only widen where they can leak. A token is renewed on the first call after
/// `expires_in` minus a margin (10 %, at least 30 s), so an app never receives one about to expire; concurrent
/// callers for the same key share one request to the OP.
public actor ClientTokenCache {
    private struct Entry {
        var token: ClientToken
        var renewAt: Date
    }

    private let clock: any WallClock
    private var entries: [String: Entry] = [:]
    private var fetches: [String: Task<Entry, any Error>] = [:]
    /// Lookups, for `stats`.
    public nonisolated let counters = CacheCounters()

    public init(clock: any WallClock) {
        self.clock = clock
    }

    /// The cached token of `siteID` for `scopes` (order and repetition do not matter), or a fresh one from `fetch`.
    public func token(siteID: String, scopes: [String],
                      fetch: @escaping @Sendable () async throws -> TokenResponse) async throws -> ClientToken {
        let now = clock.now()
        entries = entries.filter { $0.value.renewAt > now }
        let key = siteID + "\n" + Set(scopes).sorted().joined(separator: " ")
        if let entry = entries[key] {
            counters.recordHit()
            return entry.token
        }
        if let running = fetches[key] {
            counters.recordHit()
            return try await running.value.token
        }
        counters.recordMiss()
        let clock = self.clock
        let running = Task { () async throws -> Entry in
            let requestedAt = clock.now()
            let response = try await fetch()
            let lifetime = response.expiresIn.map(TimeInterval.init)
            let token = ClientToken(
                accessToken: response.accessToken, tokenType: response.tokenType,
                scopes: response.scope ?? scopes,
                expiresAt: lifetime.map { requestedAt.addingTimeInterval($0) })
            let renewAt = lifetime.map { requestedAt.addingTimeInterval($0 - max(30, $0 / 10)) } ?? requestedAt
            return Entry(token: token, renewAt: renewAt)
        }
        fetches[key] = running
        defer { fetches[key] = nil }
        let entry = try await running.value
        if entry.renewAt > clock.now() { entries[key] = entry }
        return entry.token
    }

    /// Drops every cached entry holding `accessToken`, so a revoked token is never handed out again.
    public func forget(accessToken: Secret) {
        entries = entries.filter { $0.value.token.accessToken != accessToken }
    }
}
