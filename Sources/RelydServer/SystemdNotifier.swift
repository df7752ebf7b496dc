#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics

#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how the service is doing (`Type=notify`, `WatchdogSec=`), without libsystemd.
///
/// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` once, at creation. Without `NOTIFY_SOCKET` every
/// method does nothing, so relyd run by hand or under another supervisor behaves as before. A failed send is
/// logged, never fatal: systemd's own timeouts are the judge of a service that cannot report.
public final class SystemdNotifier: Sendable {
    /// Where to send, or nil: notifications are disabled.
    public let address: NotifyAddress?
    /// How often to send `WATCHDOG=1` (half of `WATCHDOG_USEC`), or nil when systemd wants no keep-alives.
    public let watchdogInterval: Duration?
    private let logger: Logger
    /// Keep-alives go out only between `READY=1` and `STOPPING=1`, the span in which systemd watches.
    private let phase = Locked(Phase.starting)

    private enum Phase { case starting, ready, stopping }

    /// Reads the variables from `environment` for process `pid`. An unusable `NOTIFY_SOCKET` is logged and disables
    /// notifications.
    public init(environment: [String: String], pid: Int32, logger: Logger) {
        self.logger = logger
        if let text = environment["NOTIFY_SOCKET"], !text.isEmpty {
            do {
                address = try NotifyAddress(text)
            } catch {
                logger.warning("NOTIFY_SOCKET unusable; not notifying systemd", ("error.detail", "\(error)"))
                address = nil
            }
        } else {
            address = nil
        }
        watchdogInterval = Self.watchdogInterval(environment: environment, pid: pid)
    }

    /// This process's notifier.
    public convenience init(logger: Logger) {
        self.init(environment: ProcessInfo.processInfo.environment, pid: getpid(), logger: logger)
    }

    /// Half of `WATCHDOG_USEC` when set to a positive number and `WATCHDOG_PID` is absent or `pid`, as
    /// `sd_watchdog_enabled` decides.
    static func watchdogInterval(environment: [String: String], pid: Int32) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else {
            return nil
        }
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        return .microseconds(Int64(clamping: microseconds / 2))
    }

    /// Whether `NOTIFY_SOCKET` was given.
    public var isEnabled: Bool { address != nil }

    /// Sends the `KEY=value` lines as one datagram. Returns whether it was sent (false when disabled or failed).
    @discardableResult
    public func notify(_ fields: [(String, String)]) -> Bool {
        guard let address else { return false }
        let message = fields.map { name, value in
            "\(name)=\(String(decoding: value.utf8.map { $0 == 0x0A ? 0x20 : $0 }, as: UTF8.self))"
        }.joined(separator: "\n")
        do {
            try NotifySocket.send(Array(message.utf8), to: address)
            return true
        } catch {
            logger.warning("cannot notify systemd", ("notify.fields", fields.map(\.0).joined(separator: ",")),
                           ("error.detail", "\(error)"))
            return false
        }
    }

    /// `READY=1`, with a `STATUS=` line and our `MAINPID=`.
    public func ready(status: String) {
        guard isEnabled else { return }
        notify([("READY", "1"), ("STATUS", status), ("MAINPID", String(getpid()))])
        phase.withLock { $0 = .ready }
    }

    /// `STOPPING=1` with a `STATUS=` line; ends the keep-alives (systemd stops watching a stopping service).
    public func stopping(status: String) {
        guard isEnabled else { return }
        phase.withLock { $0 = .stopping }
        notify([("STOPPING", "1"), ("STATUS", status)])
    }

    /// `WATCHDOG=1`, between ``ready(status:)`` and ``stopping(status:)``.
    public func keepAlive() {
        guard isEnabled, phase.withLock({ $0 == .ready }) else { return }
        notify([("WATCHDOG", "1")])
    }

    /// The socket server's heartbeat that sends ``keepAlive()`` every ``watchdogInterval`` from the event loop
    /// itself, so that a stuck loop starves the watchdog; nil when systemd wants no keep-alives.
    public var watchdogHeartbeat: Heartbeat? {
        guard isEnabled, let interval = watchdogInterval else { return nil }
        return Heartbeat(interval: interval) { [self] in keepAlive() }
    }
}
