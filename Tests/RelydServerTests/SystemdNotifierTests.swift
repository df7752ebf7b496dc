import Foundation
import RelydBasics
import RelydServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for systemd's notification socket, bound to a path or an abstract name.
final class NotificationReceiver {
    let fd: Int32
    /// The value for NOTIFY_SOCKET.
    let address: String

    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let name = "relyd-notify-test-\(UUID().uuidString.prefix(8))"
        address = abstract ? "@\(name)" : "/tmp/\(name).sock"
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes: [UInt8] = abstract ? [0] + Array(name.utf8) : Array(address.utf8) + [0]
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(offset + bytes.count)) }
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard fd >= 0, bound == 0 else { throw ReceiverError(errno: errno) }
    }

    struct ReceiverError: Error { var errno: Int32 }

    deinit {
        close(fd)
        if address.hasPrefix("/") { unlink(address) }
    }

    /// The next datagram as text, or nil after the receive timeout.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}

/// The hand-written sd_notify: addresses, messages, watchdog and the no-op default.
@Suite struct SystemdNotifierTests {
    let logger = Logger(sink: CollectingLogSink(), minimumLevel: .debug)

    /// A path address carries its NUL; an abstract one has a leading NUL, no terminator and its exact length.
    @Test func addresses_haveTheExactLengthsTheKernelNeeds() throws {
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        let path = try NotifyAddress("/run/systemd/notify")
        #expect(!path.isAbstract)
        #expect(path.pathBytes == Array("/run/systemd/notify".utf8) + [0])
        #expect(path.length == offset + 20)
        let abstract = try NotifyAddress("@sd")
        #expect(abstract.isAbstract)
        #expect(abstract.pathBytes == [0, UInt8(ascii: "s"), UInt8(ascii: "d")])
        #expect(abstract.length == offset + 3)
    }

    /// Relative, empty, bare-@ and oversized addresses are refused with their error.
    @Test func unusableAddresses_areRefused() {
        #expect(throws: NotifySocketError.unsupportedAddress("relative")) { try NotifyAddress("relative") }
        #expect(throws: NotifySocketError.unsupportedAddress("@")) { try NotifyAddress("@") }
        #expect(throws: NotifySocketError.unsupportedAddress("")) { try NotifyAddress("") }
        #expect(throws: NotifySocketError.addressTooLong(byteCount: 201, limit: 107)) {
            try NotifyAddress("/" + String(repeating: "a", count: 200))
        }
    }

    /// Without NOTIFY_SOCKET nothing is sent and nothing fails.
    @Test func withoutNotifySocket_everythingIsANoOp() {
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "1000000"], pid: getpid(), logger: logger)
        #expect(!notifier.isEnabled)
        #expect(!notifier.notify([("READY", "1")]))
        notifier.ready(status: "x")
        notifier.stopping(status: "y")
    }

    /// READY, STATUS and MAINPID, then STOPPING, reach a path and an abstract socket.
    @Test(arguments: [false, true])
    func readyAndStopping_reachTheSocket(abstract: Bool) throws {
        let receiver = try NotificationReceiver(abstract: abstract)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address], pid: getpid(),
                                       logger: logger)
        notifier.ready(status: "serving\non x")
        #expect(receiver.receive() == "READY=1\nSTATUS=serving on x\nMAINPID=\(getpid())")
        notifier.stopping(status: "bye")
        #expect(receiver.receive() == "STOPPING=1\nSTATUS=bye")
    }

    /// WATCHDOG_USEC gives keep-alives at half the interval, only when WATCHDOG_PID is absent or ours.
    @Test func watchdogInterval_isHalfTheTimeout_forUsOnly() {
        let pid = getpid()
        let ours = SystemdNotifier(environment: ["WATCHDOG_USEC": "2000000"], pid: pid, logger: logger)
        #expect(ours.watchdogInterval == .seconds(1))
        let named = SystemdNotifier(environment: ["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "\(pid)"], pid: pid,
                                    logger: logger)
        #expect(named.watchdogInterval == .seconds(1))
        let other = SystemdNotifier(environment: ["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"], pid: pid,
                                    logger: logger)
        #expect(other.watchdogInterval == nil)
        for bad in ["0", "x", "-5"] {
            #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": bad], pid: pid, logger: logger)
                .watchdogInterval == nil)
        }
    }
}
