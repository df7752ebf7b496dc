import RelydBasics
import RelydCommands

/// SIGHUP: re-reads the configuration and applies what can change while serving — the log level, the access
/// lists, the connection limits and the timeouts. Every other changed key is logged as needing a restart and keeps
/// its running value. A bad file is logged with its line and changes nothing.
public struct ConfigurationReload: Sendable {
    /// Reads the configuration as at start (file, then command-line overrides).
    public var load: @Sendable () throws(ConfigurationFile.Failure) -> Configuration
    /// The sink whose level `log_level` sets.
    public var logLevel: LevelFilteringLogSink

    public init(load: @escaping @Sendable () throws(ConfigurationFile.Failure) -> Configuration,
                logLevel: LevelFilteringLogSink) {
        self.load = load
        self.logLevel = logLevel
    }

    /// The running parts a reload changes, besides the log level.
    struct Targets {
        var access: AccessControl
        var applyLimits: (ConnectionLimits) -> Void
        var applyOPTimeouts: (_ connectMilliseconds: Int, _ totalMilliseconds: Int) -> Void
    }

    /// The keys whose value differs between `running` and `loaded` but cannot change without a restart: those a
    /// reload leaves differing from the file. Derived from ``merging(running:loaded:)``, so the two cannot disagree.
    public static func keysNeedingRestart(running: Configuration, loaded: Configuration) -> [String] {
        let applied = ConfigurationFile.effectiveValues(merging(running: running, loaded: loaded))
        let after = Dictionary(applied, uniquingKeysWith: { first, _ in first })
        return ConfigurationFile.effectiveValues(loaded).compactMap { name, value in after[name] == value ? nil : name }
    }

    /// `running` with the reloadable keys taken from `loaded`.
    public static func merging(running: Configuration, loaded: Configuration) -> Configuration {
        var now = running
        now.logLevel = loaded.logLevel
        now.allowedUIDs = loaded.allowedUIDs
        now.allowedGIDs = loaded.allowedGIDs
        now.adminUIDs = loaded.adminUIDs
        now.adminGIDs = loaded.adminGIDs
        now.maxConnections = loaded.maxConnections
        now.maxConnectionsPerUID = loaded.maxConnectionsPerUID
        now.idleTimeoutSeconds = loaded.idleTimeoutSeconds
        now.requestsPerSecond = loaded.requestsPerSecond
        now.requestBurst = loaded.requestBurst
        now.opConnectTimeoutMilliseconds = loaded.opConnectTimeoutMilliseconds
        now.opTimeoutMilliseconds = loaded.opTimeoutMilliseconds
        now.shutdownDrainSeconds = loaded.shutdownDrainSeconds
        return now
    }

    /// Loads and applies the configuration; returns what now runs.
    func apply(running: Configuration, to targets: Targets, logger: Logger) -> Configuration {
        let loaded: Configuration
        do {
            loaded = try load()
        } catch {
            logger.error("configuration not reloaded", ("config.file", error.file), ("config.line", String(error.line)),
                         ("error.description", error.reason))
            return running
        }
        let now = Self.merging(running: running, loaded: loaded)
        logLevel.setMinimumLevel(now.logLevel)
        targets.access.replace(with: now.accessPolicy)
        targets.applyLimits(now.connectionLimits)
        targets.applyOPTimeouts(now.opConnectTimeoutMilliseconds, now.opTimeoutMilliseconds)
        for key in Self.keysNeedingRestart(running: running, loaded: loaded) {
            logger.warning("setting changed, needs a restart", ("config.key", key))
        }
        logger.notice("configuration reloaded", ("log.level", now.logLevel.name))
        return now
    }
}

extension Configuration {
    /// The socket server's limits from `max_connections`, `max_connections_per_uid`, `idle_timeout_seconds`,
    /// `requests_per_second` and `request_burst`.
    public var connectionLimits: ConnectionLimits {
        ConnectionLimits(
            maxConnections: maxConnections, maxConnectionsPerUID: maxConnectionsPerUID,
            idleTimeout: idleTimeoutSeconds > 0 ? .seconds(idleTimeoutSeconds) : nil,
            requestRate: requestsPerSecond > 0 ? RequestRate(perSecond: requestsPerSecond, burst: requestBurst) : nil)
    }
}
