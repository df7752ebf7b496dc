import Foundation
import RelydClient
import RelydProtocol
import Testing

/// `stats` from the real daemon, through RelydClient and relyctl.
@Suite struct StatsIntegrationTests {
    /// The client sees its own connection, its earlier requests and a non-empty store; relyctl prints the same.
    @Test func stats_reportsConnectionsRequestsAndStoreSize() async throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url)
        let client = RelydClient(socketPath: daemon.socketPath)
        _ = try await client.health()
        let stats = try await client.stats()
        #expect(stats.commands["health"] == Stats.CommandCounts(requests: 1, errors: 0))
        let connections = try #require(stats.connections)
        #expect(connections.open >= 1)
        #expect(connections.total >= 1)
        #expect((stats.storeBytes ?? 0) > 0)

        let printed = try run(Checkout.product("relyctl").path, ["--socket", daemon.socketPath, "stats"])
        #expect(printed.contains("\"store_bytes\""))
        #expect(printed.contains("\"connections\""))
        #expect(daemon.terminate() == 0)
    }
}
