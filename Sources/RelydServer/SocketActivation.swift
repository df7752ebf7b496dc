#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics

#if canImport(Glibc)
import Glibc
#endif

/// What systemd's socket-activation protocol (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`) hands this process,
/// read without libsystemd.
///
/// The passed descriptors are 3 … 3 + `LISTEN_FDS` − 1, and they are ours only when `LISTEN_PID` is our pid: a
/// variable inherited from a parent that was itself activated must be ignored. Parsing is pure (``init(environment:pid:)``);
/// ``takeFromProcessEnvironment()`` also clears the variables so that nothing we start inherits them.
public enum SocketActivation: Sendable, Equatable {
    /// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: Int32 = 3
    /// The variables of the protocol, cleared once read.
    public static let variableNames = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]

    /// No activation variables: bind the configured path.
    case notActivated
    /// The variables are present but not for us (another pid) or unusable (malformed, zero descriptors); the reason
    /// is for the log. Bind the configured path.
    case ignored(reason: String)
    /// `count` (≥ 1) descriptors starting at ``firstDescriptor``, with their names when `LISTEN_FDNAMES` gave them.
    case activated(count: Int, names: [String])

    /// Reads the protocol's variables from `environment` for the process `pid`.
    public init(environment: [String: String], pid: Int32) {
        guard let pidText = environment["LISTEN_PID"], let countText = environment["LISTEN_FDS"] else {
            self = .notActivated
            return
        }
        guard let listenPID = Int32(pidText.trimmingWhitespace()), listenPID > 0 else {
            self = .ignored(reason: "LISTEN_PID is not a pid")
            return
        }
        guard listenPID == pid else {
            self = .ignored(reason: "LISTEN_PID is another process")
            return
        }
        guard let count = Int(countText.trimmingWhitespace()), count >= 0,
              count <= Int(Int32.max - Self.firstDescriptor)
        else {
            self = .ignored(reason: "LISTEN_FDS is not a count")
            return
        }
        guard count >= 1 else {
            self = .ignored(reason: "LISTEN_FDS is 0")
            return
        }
        let names = environment["LISTEN_FDNAMES"].map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
        self = .activated(count: count, names: names.count == count ? names : [])
    }

    /// The listening descriptor relyd serves: the first one passed, or nil when not activated.
    public var listeningDescriptor: Int32? {
        if case .activated = self { return Self.firstDescriptor }
        return nil
    }

    /// Descriptors passed beyond the first, which relyd does not use (to be closed).
    public var extraDescriptors: [Int32] {
        guard case .activated(let count, _) = self, count > 1 else { return [] }
        return (1..<count).map { Self.firstDescriptor + Int32($0) }
    }

    /// Parses this process's environment, then removes the three variables from it (as `sd_listen_fds(1)` does).
    public static func takeFromProcessEnvironment() -> SocketActivation {
        let activation = SocketActivation(environment: ProcessInfo.processInfo.environment, pid: getpid())
        for name in variableNames { unsetenv(name) }
        return activation
    }
}
