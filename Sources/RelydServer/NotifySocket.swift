#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Why a notification to systemd could not be sent.
public enum NotifySocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `NOTIFY_SOCKET` is neither an absolute path nor an abstract `@` name.
    case unsupportedAddress(String)
    /// The address does not fit in `sun_path` (with a path's terminating NUL).
    case addressTooLong(byteCount: Int, limit: Int)
    /// A C call failed with `errno`.
    case system(function: String, errno: Int32)
    /// The kernel took fewer bytes than the datagram had.
    case truncated(sent: Int, expected: Int)

    public var description: String {
        switch self {
        case .unsupportedAddress: "NOTIFY_SOCKET is neither an absolute path nor an abstract (@) address"
        case .addressTooLong(let count, let limit): "NOTIFY_SOCKET is \(count) bytes, more than the \(limit) that fit"
        case .system(let function, let code): "\(function) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .truncated(let sent, let expected): "sent \(sent) of \(expected) bytes"
        }
    }
}

/// The address of systemd's notification socket, in the exact form `sendto` needs.
///
/// A path (`/run/systemd/notify`) is NUL-terminated and its length counts the NUL. An abstract address (`@name`)
/// has its `@` replaced by a NUL, no terminator, and a length of exactly `offsetof(sun_path) + name bytes`: the
/// kernel treats every byte of an abstract name as significant, so a padded length names a different socket.
public struct NotifyAddress: Sendable, Equatable {
    /// The bytes of `sun_path` that matter (for an abstract address, starting with the NUL).
    public let pathBytes: [UInt8]
    /// Whether the address is abstract (`@`).
    public let isAbstract: Bool

    /// `sizeof(sun_path)` on Linux.
    static let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
    /// `offsetof(struct sockaddr_un, sun_path)`.
    static let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? MemoryLayout<sa_family_t>.size

    /// - Throws: ``NotifySocketError/unsupportedAddress(_:)`` or ``NotifySocketError/addressTooLong(byteCount:limit:)``.
    public init(_ text: String) throws(NotifySocketError) {
        let bytes = Array(text.utf8)
        switch bytes.first {
        case UInt8(ascii: "/"):
            guard bytes.count < Self.capacity, !bytes.contains(0) else {
                throw .addressTooLong(byteCount: bytes.count, limit: Self.capacity - 1)
            }
            pathBytes = bytes + [0]
            isAbstract = false
        case UInt8(ascii: "@") where bytes.count > 1:
            guard bytes.count <= Self.capacity else {
                throw .addressTooLong(byteCount: bytes.count, limit: Self.capacity)
            }
            pathBytes = [0] + bytes.dropFirst()
            isAbstract = true
        default:
            throw .unsupportedAddress(text)
        }
    }

    /// The `socklen_t` to pass with the address.
    public var length: Int { Self.pathOffset + pathBytes.count }
}

/// The C calls for systemd's notification socket: one datagram per notification, as `sd_notify` does.
enum NotifySocket {
    /// Sends `message` as one datagram to `address` from a fresh close-on-exec datagram socket.
    ///
    /// The corresponding C functions are `socket` and `sendto`; both are retried on `EINTR`.
    static func send(_ message: [UInt8], to address: NotifyAddress) throws(NotifySocketError) {
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        var fd: Int32 = -1
        repeat { fd = Glibc.socket(AF_UNIX, type, 0) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw .system(function: "socket", errno: errno) }
        defer { _ = Glibc.close(fd) }

        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: address.pathBytes) }
        var sent = -1
        var failure: Int32 = 0
        repeat {
            sent = withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    message.withUnsafeBytes { bytes in
                        Glibc.sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress,
                                     socklen_t(address.length))
                    }
                }
            }
            failure = sent < 0 ? errno : 0
        } while sent < 0 && failure == EINTR
        guard sent >= 0 else { throw .system(function: "sendto", errno: failure) }
        guard sent == message.count else { throw .truncated(sent: sent, expected: message.count) }
    }
}
