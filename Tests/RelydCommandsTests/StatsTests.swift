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
        let result = try await StatsHandler.run(NoParameters(), context: context)
        #expect(result.connections == Stats.Connections(open: 2, total: 9))
        #expect(result.storeBytes == 4096)
    }
}
