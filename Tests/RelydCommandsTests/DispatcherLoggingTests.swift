import RelydBasics
import RelydCommands
import RelydOIDC
import RelydTestSupport
import RelydStore
import Testing

/// What the dispatcher writes to the log about the commands it serves.
@Suite struct DispatcherLoggingTests {
    private func dispatcher(logging level: LogLevel, to logs: CollectingLogSink) -> Dispatcher {
        let clock = FakeClock()
        let environment = OIDCEnvironment(
            settings: OIDCSettings(), transport: FakeOP(issuer: "https://op.example", clock: clock), clock: clock,
            random: SequentialRandom(), logger: Logger(sink: logs, minimumLevel: level))
        return Dispatcher(context: CommandContext(store: InMemorySiteStore(), environment: environment, version: "test"))
    }

    private func served(_ logs: CollectingLogSink) -> [LogEvent] {
        logs.events.filter { $0.message == "command served" }
    }

    /// At debug level each command served gets one line naming it, with its duration in milliseconds.
    @Test func debugLevel_logsEachCommandServed_withItsDuration() async throws {
        let logs = CollectingLogSink()
        let response = await dispatcher(logging: .debug, to: logs)
            .respond(to: Array(#"{"command":"health"}"#.utf8), peer: DispatcherHarness.defaultPeer)
        #expect(DispatcherHarness.Response(bytes: response).errorCode == nil)
        let lines = served(logs)
        try #require(lines.count == 1)
        let fields = Dictionary(lines[0].fields, uniquingKeysWith: { first, _ in first })
        #expect(fields["request.command"] == "health")
        #expect(fields["duration.ms"].flatMap(Double.init).map { $0 >= 0 } == true)
    }

    /// A failed command is logged as a failure, not as served; above debug level nothing is logged for success.
    @Test func failuresAndOtherLevels_logNoServedLine() async {
        let debugLogs = CollectingLogSink()
        let failed = await dispatcher(logging: .debug, to: debugLogs)
            .respond(to: Array(#"{"command":"get_site","params":{"oxd_id":"none"}}"#.utf8),
                     peer: DispatcherHarness.defaultPeer)
        #expect(DispatcherHarness.Response(bytes: failed).errorCode != nil)
        #expect(served(debugLogs).isEmpty)
        #expect(debugLogs.events.contains { $0.message == "command failed" })

        let infoLogs = CollectingLogSink()
        _ = await dispatcher(logging: .info, to: infoLogs)
            .respond(to: Array(#"{"command":"health"}"#.utf8), peer: DispatcherHarness.defaultPeer)
        #expect(served(infoLogs).isEmpty)
    }
}
