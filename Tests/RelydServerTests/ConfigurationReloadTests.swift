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
        loaded.socketPath = "/run/relyd/other.sock"
        #expect(ConfigurationReload.keysNeedingRestart(running: running, loaded: loaded).sorted()
                == ["max_connections", "socket_path"])
        #expect(ConfigurationReload.keysNeedingRestart(running: running, loaded: running).isEmpty)
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

    /// A logger tells its callers what the sink would drop, so they can skip formatting costly field values.
    @Test func logger_isEnabledFollowsTheFilteringSink() {
        let sink = LevelFilteringLogSink(wrapping: CollectingLogSink(), minimumLevel: .info)
        let logger = Logger(sink: sink, minimumLevel: .debug)
        #expect(!logger.isEnabled(.debug))
        #expect(logger.isEnabled(.info))
        sink.setMinimumLevel(.debug)
        #expect(logger.isEnabled(.debug))
    }
}
