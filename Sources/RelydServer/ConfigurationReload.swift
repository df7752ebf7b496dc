import RelydBasics
import RelydCommands

/// SIGHUP: re-reads the configuration and applies what can change while serving — the log level and the access
/// lists. Every other changed key is logged as needing a restart and keeps its running value. A bad file is logged
/// with its line and changes nothing.
public struct ConfigurationReload: Sendable {
    /// The keys SIGHUP applies.
    public static let reloadableKeys: Set<String> = ["log_level", "allowed_uids", "allowed_gids", "admin_uids",
                                                     "admin_gids"]

    /// Reads the configuration as at start (file, then command-line overrides).
    public var load: @Sendable () throws(ConfigurationFile.Failure) -> Configuration
    /// The sink whose level `log_level` sets.
    public var logLevel: LevelFilteringLogSink

    public init(load: @escaping @Sendable () throws(ConfigurationFile.Failure) -> Configuration,
                logLevel: LevelFilteringLogSink) {
        self.load = load
        self.logLevel = logLevel
    }

    /// The keys whose value differs between `running` and `loaded` but cannot change without a restart.
    public static func keysNeedingRestart(running: Configuration, loaded: Configuration) -> [String] {
        let before = Dictionary(ConfigurationFile.effectiveValues(running), uniquingKeysWith: { first, _ in first })
        return ConfigurationFile.effectiveValues(loaded).compactMap { name, value in
            reloadableKeys.contains(name) || before[name] == value ? nil : name
        }
    }

    /// Loads and applies the configuration; returns what now runs.
    func apply(running: Configuration, access: AccessControl, logger: Logger) -> Configuration {
        let loaded: Configuration
        do {
            loaded = try load()
        } catch {
            logger.error("configuration not reloaded", ("config.file", error.file), ("config.line", String(error.line)),
                         ("error.description", error.reason))
            return running
        }
        logLevel.setMinimumLevel(loaded.logLevel)
        access.replace(with: loaded.accessPolicy)
        var now = running
        now.logLevel = loaded.logLevel
        now.allowedUIDs = loaded.allowedUIDs
        now.allowedGIDs = loaded.allowedGIDs
        now.adminUIDs = loaded.adminUIDs
        now.adminGIDs = loaded.adminGIDs
        for key in Self.keysNeedingRestart(running: running, loaded: loaded) {
            logger.warning("setting changed, needs a restart", ("config.key", key))
        }
        logger.notice("configuration reloaded", ("log.level", loaded.logLevel.name))
        return now
    }
}
