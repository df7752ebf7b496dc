import Foundation
import RelydCommands
import RelydProtocol
import RelydTestSupport
import Testing

/// The `stats` command: counters kept by the dispatcher, figures probed from the daemon.
@Suite struct StatsTests {
    /// Requests and errors are counted per known command; access_denied counts as an error; unknown names do not.
    @Test func requestsAndErrors_areCountedPerCommand() async throws {
        let harness = DispatcherHarness(access: AccessPolicy(adminUIDs: [0]))
        _ = await harness.send("health", [:])
        _ = await harness.send("health", [:])
        _ = await harness.send("get_site", ["oxd_id": .string("absent")])
        _ = await harness.send("remove_site", ["oxd_id": .string("absent")])
        _ = await harness.send("made_up", [:])
        let stats = await harness.send("stats", [:])
        #expect(stats.isOK)
        let commands = try #require(stats.data["commands"]?.objectValue)
        #expect(commands["health"] == .object(["requests": .integer(2), "errors": .integer(0)]))
        #expect(commands["get_site"] == .object(["requests": .integer(1), "errors": .integer(1)]))
        #expect(commands["remove_site"] == .object(["requests": .integer(1), "errors": .integer(1)]))
        #expect(commands["made_up"] == nil)
        #expect(stats.data["uptime_seconds"] != nil)
    }

    /// The daemon's probes are reported; without them connections and store_bytes are absent.
    @Test func probes_areReportedWhenPresent() async throws {
        let harness = DispatcherHarness()
        #expect(await harness.send("stats", [:]).data["connections"] == nil)
        var context = harness.dispatcher.context
        context.operations = OperationalProbes(connections: { Stats.Connections(open: 2, total: 9) },
                                               storeBytes: { 4096 })
        let result = try StatsHandler.run(NoParameters(), context: context)
        #expect(result.connections == Stats.Connections(open: 2, total: 9))
        #expect(result.storeBytes == 4096)
    }

    /// A second discovery lookup is a cache hit; calls recorded by the daemon's measuring transport are reported.
    @Test func cachesAndOPCalls_areReported() async throws {
        let harness = DispatcherHarness()
        for _ in 0..<2 {
            #expect(await harness.send("get_discovery", ["op_host": .string("https://op.example")]).isOK)
        }
        harness.dispatcher.context.opCalls.record(host: "op.example", duration: .milliseconds(7), failed: false)
        let stats = await harness.send("stats", [:])
        let caches = try #require(stats.data["caches"]?.objectValue)
        #expect(caches["provider_metadata"]?["hits"] == .integer(1))
        #expect(caches["provider_metadata"]?["misses"] == .integer(1))
        #expect(caches["client_tokens"]?["hits"] == .integer(0))
        #expect(caches["provider_jwks"] != nil)
        let calls = try #require(stats.data["op_calls"]?["op.example"]?.objectValue)
        #expect(calls["count"] == .integer(1))
        #expect(calls["errors"] == .integer(0))
        #expect(calls["p50_ms"] == .integer(10))
    }
}
