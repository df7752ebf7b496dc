import Foundation
import RelydBasics
import RelydCommands
import RelydOIDC
import RelydProtocol
import RelydStore
import RelydTestSupport
import Testing

/// A store whose database server is gone: what the PostgreSQL store throws until it has reconnected.
private struct UnreachableStore: SiteStore {
    private static let error = StoreError(.unavailable, "PQexecParams: 08006 server closed the connection")

    func insertSite(_ site: Site) throws(StoreError) { throw Self.error }
    func updateSite(_ site: Site) throws(StoreError) -> Bool { throw Self.error }
    func site(id: String) throws(StoreError) -> Site? { throw Self.error }
    func deleteSite(id: String) throws(StoreError) -> Bool { throw Self.error }
    func allSites() throws(StoreError) -> [Site] { throw Self.error }
    func insertPendingAuthorization(_ pending: PendingAuthorization) throws(StoreError) { throw Self.error }
    func consumePendingAuthorization(state: String, siteID: String, now: Date) throws(StoreError)
        -> PendingAuthorization? { throw Self.error }
    func purgeExpired(now: Date) throws(StoreError) -> Int { throw Self.error }
    func insertTokenBinding(_ binding: TokenBinding) throws(StoreError) { throw Self.error }
    func tokenBinding(accessTokenHash: String, now: Date) throws(StoreError) -> TokenBinding? { throw Self.error }
    func close() {}
}

@Suite struct StoreUnavailableTests {
    /// A store that cannot reach its database answers store_unavailable (not internal_error), and the detail
    /// goes to the log only.
    @Test func unreachableDatabase_isStoreUnavailable() async {
        let clock = FakeClock()
        let logs = CollectingLogSink()
        let environment = OIDCEnvironment(settings: OIDCSettings(), transport: FakeOP(issuer: "https://op.example",
                                                                                      clock: clock),
                                          clock: clock, random: SequentialRandom(),
                                          logger: Logger(sink: logs, minimumLevel: .debug))
        let dispatcher = Dispatcher(context: CommandContext(store: UnreachableStore(), environment: environment,
                                                            version: "test"))
        for line in [#"{"command":"get_site","params":{"oxd_id":"x"}}"#, #"{"command":"list_sites"}"#] {
            let bytes = await dispatcher.respond(to: Array(line.utf8), peer: DispatcherHarness.defaultPeer)
            let response = DispatcherHarness.Response(bytes: bytes)
            #expect(response.errorCode == "store_unavailable")
            #expect(!response.raw.contains("08006"))
        }
        #expect(logs.events.contains { $0.message == "store unavailable" })
    }
}
