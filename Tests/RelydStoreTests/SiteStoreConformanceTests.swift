import Foundation
import RelydBasics
import RelydStore
import Testing

/// The `SiteStore` contract, checked against every backend so that the in-memory double cannot drift from SQLite.
@Suite struct SiteStoreConformanceTests {
    /// A site reads back equal after insert and update, is listed by id, and is gone after delete.
    @Test(arguments: Backend.allCases) func siteInsertGetUpdateListDelete(backend: Backend) async throws {
        try await withStore(backend) { store in
            let b = makeSite(id: "b")
            let a = makeSite(id: "a")
            try await store.insertSite(b)
            try await store.insertSite(a)
            #expect(try await store.site(id: "a") == a)
            #expect(try await store.site(id: "missing") == nil)
            #expect(try await store.allSites() == [a, b])

            var changed = a
            changed.scopes = ["openid"]
            changed.clientSecret = Secret("rotated")
            #expect(try await store.updateSite(changed))
            #expect(try await store.site(id: "a") == changed)
            #expect(try await !store.updateSite(makeSite(id: "missing")))

            #expect(try await store.deleteSite(id: "a"))
            #expect(try await !store.deleteSite(id: "a"))
            #expect(try await store.site(id: "a") == nil)
            #expect(try await store.allSites() == [b])
        }
    }

    /// Secrets, nil optionals, empty and non-ASCII strings and sub-second dates survive a round trip unchanged.
    @Test(arguments: Backend.allCases) func everyFieldRoundTripsExactly(backend: Backend) async throws {
        try await withStore(backend) { store in
            let full = makeSite(id: "full")
            let sparse = Site(id: "sparse", opHost: "https://op.example.test", clientID: "", clientSecret: nil,
                              clientSecretExpiresAt: nil, registrationAccessToken: nil, registrationClientURI: nil,
                              redirectURI: "https://app.example.test/ç b", postLogoutRedirectURI: nil, scopes: [],
                              clientName: nil, grantTypes: [], responseTypes: ["code id_token"],
                              tokenEndpointAuthMethod: "client_secret_post", idTokenSignedResponseAlg: nil,
                              isDynamicallyRegistered: false, createdAt: Date(timeIntervalSinceReferenceDate: 0.1))
            try await store.insertSite(full)
            try await store.insertSite(sparse)
            let readFull = try #require(try await store.site(id: "full"))
            #expect(readFull == full)
            #expect(readFull.clientSecret?.revealed == "secret-full")
            #expect(readFull.registrationAccessToken?.revealed == "rat-full")
            #expect(try await store.site(id: "sparse") == sparse)

            var pending = makePending(state: "s", siteID: "full")
            pending.maxAge = nil
            pending.acrValues = nil
            try await store.insertPendingAuthorization(pending)
            try await store.insertPendingAuthorization(makePending(state: "t", siteID: "full"))
            #expect(try await store.consumePendingAuthorization(state: "s", siteID: "full", now: epoch) == pending)
            let withOptionals = try await store.consumePendingAuthorization(state: "t", siteID: "full", now: epoch)
            #expect(withOptionals == makePending(state: "t", siteID: "full"))
            #expect(withOptionals?.codeVerifier.revealed == "verifier-t")
        }
    }

    /// A NUL inside a string round-trips where the engine can store it (SQLite, memory); PostgreSQL's text type cannot
    /// hold NUL, and the PostgreSQL store refuses the value with `.io` rather than store a truncated one.
    @Test(arguments: Backend.allCases) func nulInAStringRoundTripsOrIsRefused(backend: Backend) async throws {
        try await withStore(backend) { (store: any SiteStore) async throws in
            var site = makeSite(id: "nul")
            site.clientName = "a\u{0}b"
            let kind = await storeErrorKind { () throws(StoreError) in try await store.insertSite(site) }
            if backend == .postgresql {
                #expect(kind == .io)
                #expect(try await store.site(id: "nul") == nil)
            } else {
                #expect(kind == nil)
                #expect(try await store.site(id: "nul") == site)
            }
        }
    }

    /// Inserting a second site with an existing id throws `.duplicate` and keeps the first one.
    @Test(arguments: Backend.allCases) func duplicateSiteIDIsRefused(backend: Backend) async throws {
        try await withStore(backend) { store in
            let first = makeSite(id: "x")
            try await store.insertSite(first)
            var second = makeSite(id: "x")
            second.clientID = "other"
            #expect(await storeErrorKind { () throws(StoreError) in try await store.insertSite(second) } == .duplicate)
            #expect(try await store.site(id: "x") == first)
        }
    }

    /// A second pending authorization with the same state throws `.duplicate`.
    @Test(arguments: Backend.allCases) func duplicateStateIsRefused(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "x"))
            try await store.insertPendingAuthorization(makePending(state: "s", siteID: "x"))
            let kind = await storeErrorKind { () throws(StoreError) in
                try await store.insertPendingAuthorization(makePending(state: "s", siteID: "x"))
            }
            #expect(kind == .duplicate)
        }
    }

    /// Pending authorizations and token bindings cannot name a site that does not exist.
    @Test(arguments: Backend.allCases) func recordsOfAnUnknownSiteAreRefused(backend: Backend) async throws {
        try await withStore(backend) { store in
            let pending = await storeErrorKind { () throws(StoreError) in
                try await store.insertPendingAuthorization(makePending(state: "s", siteID: "ghost"))
            }
            let binding = await storeErrorKind { () throws(StoreError) in
                try await store.insertTokenBinding(
                    TokenBinding(accessTokenHash: "h", siteID: "ghost", subject: "u", expiresAt: epoch))
            }
            #expect(pending == .io)
            #expect(binding == .io)
        }
    }

    /// Deleting a site removes its pending authorizations and token bindings, and nobody else's.
    @Test(arguments: Backend.allCases) func deletingASiteCascades(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "gone"))
            try await store.insertSite(makeSite(id: "kept"))
            try await store.insertPendingAuthorization(makePending(state: "s1", siteID: "gone"))
            try await store.insertPendingAuthorization(makePending(state: "s2", siteID: "kept"))
            let later = epoch.addingTimeInterval(3600)
            for (hash, siteID) in [("h1", "gone"), ("h2", "kept")] {
                try await store.insertTokenBinding(
                    TokenBinding(accessTokenHash: hash, siteID: siteID, subject: "u", expiresAt: later))
            }

            #expect(try await store.deleteSite(id: "gone"))

            #expect(try await store.consumePendingAuthorization(state: "s1", siteID: "gone", now: epoch) == nil)
            #expect(try await store.tokenBinding(accessTokenHash: "h1", now: epoch) == nil)
            #expect(try await store.consumePendingAuthorization(state: "s2", siteID: "kept", now: epoch) != nil)
            #expect(try await store.tokenBinding(accessTokenHash: "h2", now: epoch) != nil)
        }
    }

    /// A state is redeemed once; the second consume returns nil.
    @Test(arguments: Backend.allCases) func pendingAuthorizationIsConsumedOnce(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "x"))
            let pending = makePending(state: "s", siteID: "x")
            try await store.insertPendingAuthorization(pending)
            #expect(try await store.consumePendingAuthorization(state: "s", siteID: "x", now: epoch) == pending)
            #expect(try await store.consumePendingAuthorization(state: "s", siteID: "x", now: epoch) == nil)
        }
    }

    /// A state consumed at or after its expiry returns nil and is removed, so it cannot be redeemed "earlier".
    @Test(arguments: Backend.allCases) func expiredPendingAuthorizationIsRemovedAndNotReturned(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "x"))
            let pending = makePending(state: "s", siteID: "x")
            try await store.insertPendingAuthorization(pending)
            #expect(try await store.consumePendingAuthorization(state: "s", siteID: "x", now: pending.expiresAt) == nil)
            #expect(try await store.consumePendingAuthorization(state: "s", siteID: "x", now: epoch) == nil)
        }
    }

    /// Presenting another site's state returns nil and leaves it redeemable by its own site.
    @Test(arguments: Backend.allCases) func otherSitesStateIsUntouched(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "owner"))
            try await store.insertSite(makeSite(id: "intruder"))
            let pending = makePending(state: "s", siteID: "owner")
            try await store.insertPendingAuthorization(pending)
            #expect(try await store.consumePendingAuthorization(state: "s", siteID: "intruder", now: epoch) == nil)
            #expect(try await store.consumePendingAuthorization(state: "s", siteID: "owner", now: epoch) == pending)
        }
    }

    /// 100 concurrent consumes of one state yield exactly one success.
    @Test(arguments: Backend.allCases) func concurrentConsumesSucceedExactlyOnce(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "x"))
            try await store.insertPendingAuthorization(makePending(state: "s", siteID: "x"))
            let successes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        try await store.consumePendingAuthorization(state: "s", siteID: "x", now: epoch) != nil
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(successes == 1)
        }
    }

    /// `purgeExpired` removes pending authorizations and token bindings expired at `now`, counts them, keeps the rest.
    @Test(arguments: Backend.allCases) func purgeExpiredRemovesAndCountsOnlyExpiredRecords(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "x"))
            let now = epoch.addingTimeInterval(1000)
            for (state, expiresAt) in [("old", now.addingTimeInterval(-1)), ("edge", now), ("live", now.addingTimeInterval(1))] {
                try await store.insertPendingAuthorization(makePending(state: state, siteID: "x", expiresAt: expiresAt))
            }
            try await store.insertTokenBinding(TokenBinding(accessTokenHash: "old", siteID: "x", subject: "u", expiresAt: now))
            try await store.insertTokenBinding(
                TokenBinding(accessTokenHash: "live", siteID: "x", subject: "u", expiresAt: now.addingTimeInterval(1)))

            #expect(try await store.purgeExpired(now: now) == 3)
            #expect(try await store.purgeExpired(now: now) == 0)

            // Looked up at an earlier time, a purged record would still be live: absence proves deletion.
            #expect(try await store.consumePendingAuthorization(state: "old", siteID: "x", now: epoch) == nil)
            #expect(try await store.consumePendingAuthorization(state: "edge", siteID: "x", now: epoch) == nil)
            #expect(try await store.tokenBinding(accessTokenHash: "old", now: epoch) == nil)
            #expect(try await store.consumePendingAuthorization(state: "live", siteID: "x", now: epoch) != nil)
            #expect(try await store.tokenBinding(accessTokenHash: "live", now: epoch) != nil)
        }
    }

    /// A token binding reads back until its expiry, and binding the same token again replaces it.
    @Test(arguments: Backend.allCases) func tokenBindingRoundTripsUntilExpiry(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "x"))
            let binding = TokenBinding(accessTokenHash: "abc", siteID: "x", subject: "alice",
                                       expiresAt: epoch.addingTimeInterval(60))
            try await store.insertTokenBinding(binding)
            #expect(try await store.tokenBinding(accessTokenHash: "abc", now: epoch) == binding)
            #expect(try await store.tokenBinding(accessTokenHash: "abc", now: binding.expiresAt) == nil)
            #expect(try await store.tokenBinding(accessTokenHash: "other", now: epoch) == nil)

            var renewed = binding
            renewed.expiresAt = epoch.addingTimeInterval(120)
            try await store.insertTokenBinding(renewed)
            #expect(try await store.tokenBinding(accessTokenHash: "abc", now: binding.expiresAt) == renewed)
        }
    }

    /// Several bindings written at once read back as if written one after the other: each stored, an existing one
    /// replaced, and of two with the same hash the later one kept.
    @Test(arguments: Backend.allCases) func tokenBindingsWrittenTogether(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "x"))
            func binding(_ hash: String, _ subject: String) -> TokenBinding {
                TokenBinding(accessTokenHash: hash, siteID: "x", subject: subject,
                             expiresAt: epoch.addingTimeInterval(60))
            }
            try await store.insertTokenBinding(binding("existing", "old"))
            try await store.insertTokenBindings([])
            try await store.insertTokenBindings([
                binding("access", "alice"), binding("existing", "bob"), binding("twice", "first"),
                binding("twice", "second"),
            ])
            #expect(try await store.tokenBinding(accessTokenHash: "access", now: epoch) == binding("access", "alice"))
            #expect(try await store.tokenBinding(accessTokenHash: "existing", now: epoch) == binding("existing", "bob"))
            #expect(try await store.tokenBinding(accessTokenHash: "twice", now: epoch) == binding("twice", "second"))
        }
    }

    /// After `close()` every operation throws `.io`.
    @Test(arguments: Backend.allCases) func closedStoreThrows(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.insertSite(makeSite(id: "x"))
            await store.close()
            #expect(await storeErrorKind { () throws(StoreError) in _ = try await store.site(id: "x") } == .io)
            #expect(await storeErrorKind { () throws(StoreError) in try await store.insertSite(makeSite(id: "y")) } == .io)
            #expect(await storeErrorKind { () throws(StoreError) in _ = try await store.purgeExpired(now: epoch) } == .io)
        }
    }
}
