import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydCommands
import RelydCrypto
import RelydHTTP
import RelydOIDC
import RelydStore

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's composition root: builds the parts from the configuration, in dependency order, and takes them
/// down in reverse order on SIGTERM or SIGINT.
///
/// Start order: store (refuses unsafe permissions), HTTP transport, command context, socket server. Stop order:
/// stop accepting and drain requests in flight, then close the store, then exit 0.
public final class Daemon: Sendable {
    public static let version = "0.1.0"

    private let configuration: Configuration
    private let logger: Logger
    private let store: any SiteStore
    private let transport: CurlTransport
    private let server: SocketServer
    private let activation: SocketActivation
    private let notifier: SystemdNotifier
    private let access: AccessControl
    private let reload: ConfigurationReload?
    /// The configuration in force, as SIGHUP last changed it.
    private let running: Locked<Configuration>

    /// Builds every part; nothing listens yet. Without `reload`, SIGHUP is logged and ignored.
    public init(configuration: Configuration, logger: Logger, reload: ConfigurationReload? = nil) throws {
        self.configuration = configuration
        self.logger = logger
        self.reload = reload
        running = Locked(configuration)
        access = AccessControl(configuration.accessPolicy)
        store = switch configuration.store {
        case .sqlite: try SQLiteSiteStore.open(directory: configuration.stateDirectory)
        case .postgresql: try PostgreSQLSiteStore.open(url: configuration.postgresqlURL)
        }
        transport = CurlTransport(configuration: CurlTransport.Configuration(
            connectTimeoutMilliseconds: configuration.opConnectTimeoutMilliseconds,
            totalTimeoutMilliseconds: configuration.opTimeoutMilliseconds,
            maxResponseBytes: configuration.opMaxResponseBytes,
            caFile: configuration.caFile))
        var settings = OIDCSettings()
        settings.clockSkew = TimeInterval(configuration.clockSkewSeconds)
        settings.stateLifetime = TimeInterval(configuration.stateLifetimeSeconds)
        settings.allowHTTPLoopback = configuration.allowHTTPLoopback
        settings.metadataCacheLifetime = TimeInterval(configuration.metadataCacheSeconds)
        settings.allowedOPHosts = configuration.allowedOPHosts
        let opCalls = OPCallStatistics()
        let measured = MeasuringTransport(wrapping: transport, statistics: opCalls, clock: SystemMonotonicClock())
        let environment = OIDCEnvironment(settings: settings, transport: measured, clock: SystemWallClock(),
                                          random: OpenSSLRandom(), logger: logger)
        let serverReference = Locked<SocketServer?>(nil)
        var context = CommandContext(store: store, environment: environment, version: Self.version)
        context.opCalls = opCalls
        context.operations = OperationalProbes.daemon(server: serverReference,
                                                      sqliteDirectory: configuration.store == .sqlite
                                                          ? configuration.stateDirectory : nil)
        let dispatcher = Dispatcher(context: context, access: access)
        notifier = SystemdNotifier(logger: logger)
        let limits = configuration.connectionLimits
        var serverConfiguration = SocketServerConfiguration(
            socketPath: configuration.socketPath, socketMode: mode_t(configuration.socketMode),
            socketGroup: configuration.socketGroup.map { gid_t($0) }, maxLineBytes: configuration.maxLineBytes,
            maxConnections: limits.maxConnections, maxConnectionsPerUID: limits.maxConnectionsPerUID,
            idleTimeout: limits.idleTimeout, requestRate: limits.requestRate)
        serverConfiguration.heartbeat = notifier.watchdogHeartbeat
        serverConfiguration.eventLoops = configuration.eventLoops
        if let interval = notifier.watchdogHeartbeat?.interval {
            logger.info("systemd watchdog keep-alives from the event loop",
                        ("watchdog.interval_ms", String(interval.wholeMilliseconds)))
        }
        let handler = DispatchingLineHandler(dispatcher: dispatcher)
        // systemd socket activation: serve the socket passed as fd 3, else bind the configured path.
        activation = SocketActivation.takeFromProcessEnvironment()
        if let descriptor = activation.listeningDescriptor {
            for extra in activation.extraDescriptors { Syscall.close(extra) }
            server = try SocketServer(adoptingListeningDescriptor: descriptor, configuration: serverConfiguration,
                                      handler: handler, logger: logger)
        } else {
            if case .ignored(let reason) = activation {
                logger.warning("socket activation variables ignored", ("reason", reason))
            }
            server = try SocketServer(configuration: serverConfiguration, handler: handler, logger: logger)
        }
        serverReference.withLock { [server] in $0 = server }
    }

    /// Starts serving and blocks until a termination signal has been handled; returns the exit status.
    ///
    /// The signal sources are in place before the socket accepts anyone: a SIGTERM sent as soon as relyd answers
    /// must be handled, not lost between ignoring the default action and resuming the source (seen as a daemon
    /// that never exited when a loaded machine stretched that window).
    public func run() -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let finished = DispatchSemaphore(value: 0)
        let signals = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
            // The recipe measured in the Swift-on-Linux study: ignore the default action, then let the source
            // deliver the signal.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                source.cancel()
                Task {
                    logger.notice("shutting down", ("signal", String(number)))
                    notifier.stopping(status: "relyd stopping")
                    let drain = running.withLock { $0.shutdownDrainSeconds }
                    await server.stop(drainTimeout: .seconds(drain))
                    await store.close()
                    transport.shutdown()
                    logger.notice("stopped")
                    finished.signal()
                }
            }
            source.resume()
            return source
        }
        defer { withExtendedLifetime(signals) {} }
        signal(SIGHUP, SIG_IGN)
        let hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangUp.setEventHandler { [self] in reloadConfiguration() }
        hangUp.resume()
        defer { hangUp.cancel() }

        do {
            try server.start()
        } catch {
            logger.error("cannot listen", ("socket.path", configuration.socketPath), ("error.detail", "\(error)"))
            return (error as? SocketError)?.isConfigurationProblem == true ? 78 : 1  // EX_CONFIG, as check-config
        }
        let activated = activation.listeningDescriptor != nil
        logger.notice("relyd ready", ("version", Self.version), ("socket.path", configuration.socketPath),
                      ("socket.activated", activated ? "true" : "false"), ("state.dir", configuration.stateDirectory),
                      ("store", configuration.store.rawValue))
        notifier.ready(status: activated ? "serving on the socket passed by systemd"
                                         : "serving on \(configuration.socketPath)")

        let purge = DispatchSource.makeTimerSource(queue: .global())
        purge.schedule(deadline: .now() + 60, repeating: 60)
        purge.setEventHandler { [store, logger] in
            Task {
                do {
                    let removed = try await store.purgeExpired(now: Date())
                    if removed > 0 { logger.debug("expired state purged", ("purged.count", String(removed))) }
                } catch {
                    logger.warning("purge failed", ("error.detail", "\(error)"))
                }
            }
        }
        purge.resume()
        finished.wait()
        purge.cancel()
        return 0
    }

    /// SIGHUP: see ``ConfigurationReload``.
    private func reloadConfiguration() {
        guard let reload else {
            logger.notice("SIGHUP ignored: relyd runs without a configuration file")
            return
        }
        let targets = ConfigurationReload.Targets(
            access: access, applyLimits: server.updateLimits,
            applyOPTimeouts: { [transport] connect, total in
                transport.timeouts = CurlTransport.Timeouts(connectMilliseconds: connect, totalMilliseconds: total)
            })
        running.withLock { $0 = reload.apply(running: $0, to: targets, logger: logger) }
    }
}

/// Connects the socket server, which knows nothing of commands, to the dispatcher.
struct DispatchingLineHandler: RequestLineHandler {
    let dispatcher: Dispatcher

    nonisolated(nonsending) func respond(to line: [UInt8], peer: PeerCredentials) async -> [UInt8] {
        await dispatcher.respond(to: line, peer: peer)
    }
}
