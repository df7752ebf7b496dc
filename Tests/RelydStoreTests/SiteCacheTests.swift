@testable import RelydStore
import Testing

@Suite struct SiteCacheTests {
    /// A full cache makes room for a new site by letting one other site go, never all of them.
    @Test func fullCache_letsOneSiteGoForANewOne() {
        let cache = SiteCache()
        for index in 0..<SiteCache.capacity { cache.remember(makeSite(id: "site-\(index)")) }
        cache.remember(makeSite(id: "newcomer"))
        #expect(cache.count == SiteCache.capacity)
        #expect(cache.site(id: "newcomer") == makeSite(id: "newcomer"))
        let kept = (0..<SiteCache.capacity).filter { cache.site(id: "site-\($0)") != nil }.count
        #expect(kept == SiteCache.capacity - 1)
    }

    /// A site cached again replaces its own entry: nothing else is let go.
    @Test func siteRememberedAgain_replacesItsEntry() {
        let cache = SiteCache()
        for index in 0..<SiteCache.capacity { cache.remember(makeSite(id: "site-\(index)")) }
        var renamed = makeSite(id: "site-7")
        renamed.clientName = "Renamed"
        cache.remember(renamed)
        #expect(cache.count == SiteCache.capacity)
        #expect(cache.site(id: "site-7") == renamed)
        #expect((0..<SiteCache.capacity).allSatisfy { cache.site(id: "site-\($0)") != nil })
    }

    /// A site forgotten and cached again while its old slot still waits its turn is served, and the cache stays
    /// within its capacity as others come and go.
    @Test func siteForgottenThenCachedAgain_isServed_andTheCacheStaysWithinCapacity() {
        let cache = SiteCache()
        for index in 0..<SiteCache.capacity { cache.remember(makeSite(id: "site-\(index)")) }
        cache.forget(id: "site-0")
        #expect(cache.site(id: "site-0") == nil)
        cache.remember(makeSite(id: "site-0"))
        #expect(cache.site(id: "site-0") == makeSite(id: "site-0"))
        var largest = 0
        for index in 0..<(2 * SiteCache.capacity) {
            cache.remember(makeSite(id: "other-\(index)"))
            largest = max(largest, cache.count)
        }
        #expect(largest == SiteCache.capacity)
        #expect(cache.site(id: "other-\(2 * SiteCache.capacity - 1)") != nil)
    }
}
