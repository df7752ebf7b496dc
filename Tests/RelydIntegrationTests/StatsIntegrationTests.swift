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

    /// A call to an OP that never answers shows under its host as one call and one error, with its latency;
    /// the discovery cache counts the lookup as a miss; relyctl prints both.
    @Test func stats_reportOPCallsAndCaches() async throws {
        let silentOP = try SilentTCPListener()
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url, extraConfig: "allow_http_loopback = true\nop_timeout_ms = 300")
        let client = RelydClient(socketPath: daemon.socketPath)
        defer { client.close() }
        let host = "127.0.0.1:\(silentOP.port)"
        do {
            _ = try await client.send(GetDiscovery.self, .init(opHost: "http://\(host)"))
            Issue.record("a silent OP answered")
        } catch {
            #expect(error.code == "op_unreachable")
        }
        let stats = try await client.stats()
        let calls = try #require(stats.opCalls[host], "\(stats.opCalls)")
        #expect(calls.count == 1)
        #expect(calls.errors == 1)
        #expect(calls.p50Milliseconds >= 250)
        #expect(stats.caches["provider_metadata"] == Stats.CacheCounts(hits: 0, misses: 1))

        let printed = try run(Checkout.product("relyctl").path, ["--socket", daemon.socketPath, "stats"])
        #expect(printed.contains("\"op_calls\""))
        #expect(printed.contains("\"hit_rate\""))
        #expect(daemon.terminate() == 0)
    }
}
