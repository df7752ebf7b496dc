import Foundation
import RelydBasics
import RelydServer
import Testing

/// What SIGHUP may change while serving, and what it reports as needing a restart.
@Suite struct ConfigurationReloadTests {
    /// Changed reloadable keys are not reported; every other changed key is.
    @Test func keysNeedingRestart_areTheChangedNonReloadableKeys() {
        let running = Configuration()
        var loaded = running
        loaded.logLevel = .debug
        loaded.allowedUIDs = [33]
        loaded.maxConnections = 5
        loaded.idleTimeoutSeconds = 9
        loaded.opTimeoutMilliseconds = 700
        loaded.maxLineBytes = 4096
        loaded.socketPath = "/run/relyd/other.sock"
        #expect(ConfigurationReload.keysNeedingRestart(running: running, loaded: loaded).sorted()
                == ["max_line_bytes", "socket_path"])
        #expect(ConfigurationReload.keysNeedingRestart(running: running, loaded: running).isEmpty)
    }

    /// Limits and timeouts are taken from the reloaded file; restart-only keys keep their running value.
    @Test func merging_takesLimitsAndTimeouts_keepsRestartOnlyKeys() {
        let running = Configuration()
        var loaded = running
        loaded.maxConnectionsPerUID = 3
        loaded.idleTimeoutSeconds = 0
        loaded.requestsPerSecond = 5
        loaded.requestBurst = 7
        loaded.opConnectTimeoutMilliseconds = 100
        loaded.shutdownDrainSeconds = 1
        loaded.socketPath = "/elsewhere.sock"
        let now = ConfigurationReload.merging(running: running, loaded: loaded)
        #expect(now.connectionLimits == ConnectionLimits(maxConnections: 1024, maxConnectionsPerUID: 3,
                                                         idleTimeout: nil,
                                                         requestRate: RequestRate(perSecond: 5, burst: 7)))
        #expect(now.opConnectTimeoutMilliseconds == 100)
        #expect(now.shutdownDrainSeconds == 1)
        #expect(now.socketPath == running.socketPath)
    }

    /// The filtering sink's level can be lowered and raised at run time.
    @Test func levelFilteringSink_appliesANewLevel() {
        let collected = CollectingLogSink()
        let sink = LevelFilteringLogSink(wrapping: collected, minimumLevel: .info)
        let logger = Logger(sink: sink, minimumLevel: .debug)
        logger.debug("hidden")
        sink.setMinimumLevel(.debug)
        logger.debug("shown")
        sink.setMinimumLevel(.error)
        logger.warning("hidden too")
        #expect(collected.all.map(\.message) == ["shown"])
    }
}
