import Dispatch
import Foundation
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
    private let watchdog = Locked<WatchdogTimer?>(nil)

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
        let message = fields.map { "\($0.0)=\($0.1.replacingOccurrences(of: "\n", with: " "))" }.joined(separator: "\n")
        do {
            try NotifySocket.send(Array(message.utf8), to: address)
            return true
        } catch {
            logger.warning("cannot notify systemd", ("notify.fields", fields.map(\.0).joined(separator: ",")),
                           ("error.detail", "\(error)"))
            return false
        }
    }

    /// `READY=1`, with a `STATUS=` line and our `MAINPID=`; then starts the watchdog keep-alives if systemd asked.
    public func ready(status: String) {
        guard isEnabled else { return }
        notify([("READY", "1"), ("STATUS", status), ("MAINPID", String(getpid()))])
        startWatchdog()
    }

    /// `STOPPING=1` with a `STATUS=` line; stops the keep-alives (systemd stops watching a stopping service).
    public func stopping(status: String) {
        guard isEnabled else { return }
        stopWatchdog()
        notify([("STOPPING", "1"), ("STATUS", status)])
    }

    /// Sends `WATCHDOG=1` every ``watchdogInterval`` from a Dispatch timer, until ``stopping(status:)``.
    func startWatchdog() {
        guard isEnabled, let interval = watchdogInterval else { return }
        let nanoseconds = max(1_000_000, Int(clamping: interval.components.seconds * 1_000_000_000
                                                 + interval.components.attoseconds / 1_000_000_000))
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now(), repeating: .nanoseconds(nanoseconds), leeway: .nanoseconds(nanoseconds / 10))
        timer.setEventHandler { [self] in notify([("WATCHDOG", "1")]) }
        let previous = watchdog.withLock { current -> WatchdogTimer? in
            defer { current = WatchdogTimer(source: timer) }
            return current
        }
        previous?.source.cancel()
        timer.resume()
        logger.info("systemd watchdog keep-alives on", ("watchdog.interval_ms", String(nanoseconds / 1_000_000)))
    }

    private func stopWatchdog() {
        let timer = watchdog.withLock { current -> WatchdogTimer? in
            defer { current = nil }
            return current
        }
        timer?.source.cancel()
    }
}

/// The keep-alive timer, held under the notifier's lock. A Dispatch source is thread-safe to cancel.
private struct WatchdogTimer: @unchecked Sendable {
    let source: any DispatchSourceTimer
}
