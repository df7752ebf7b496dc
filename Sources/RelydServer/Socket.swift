// Socket.swift: the one file in RelydServer that makes system calls.
//
// DESIGN
// Every C call of the socket transport (socket, bind, listen, accept4, read, send, close, connect, epoll_*,
// eventfd, getsockopt, fcntl, chmod, umask, mkdir, unlink, lstat, fstat) is made here, behind small wrappers that
// speak Swift types. Each wrapper retries `EINTR` (except `close`, see ``Syscall/close(_:)``) and throws a
// ``SocketError`` that names the C function and carries `errno`. No wrapper leaks a descriptor on an error path:
// anything opened inside a wrapper is closed before it throws.
//
// Control-socket start-up follows OpenSMTPD's `control_create_socket()`: probe an existing path with `connect()`
// first, refuse a live listener or a non-socket file, unlink only a stale socket, bind under a restrictive umask,
// then `chmod` explicitly before `listen`, so nobody can connect before the final mode is in place.

import CLinux
import RelydBasics
#if canImport(Glibc)
import Glibc
#endif

/// Why the socket transport could not do something. Descriptions are for humans (logs, startup errors).
public enum SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A C call failed: `function` is its name (`bind`, `accept4`…), `errno` the C error, `path` the socket path
    /// when one was involved.
    case system(function: String, errno: Int32, path: String?)
    /// The socket path does not fit in `sockaddr_un.sun_path` (108 bytes on Linux, terminating NUL included).
    case pathTooLong(path: String, byteCount: Int, limit: Int)
    /// A live listener answered `connect()` on the path: another relyd (or something else) is serving it.
    case anotherInstanceListening(path: String)
    /// Something that is not a socket exists at the path; relyd never deletes it.
    case notASocket(path: String)
    /// A descriptor handed over for adoption is not a listening stream socket.
    case notAListeningSocket(descriptor: Int32, reason: String)
    /// ``SocketServer/start()`` was called on a server that was already started or stopped.
    case alreadyStarted
    /// The parent directory of the socket path is missing and so is its own parent (relyd creates one level only).
    case parentDirectoryMissing(path: String)
    /// The socket's directory would let someone else replace or hijack the socket: see
    /// ``Syscall/unsafeDirectoryReason(mode:owner:ourUID:)``.
    case unsafeSocketDirectory(path: String, reason: String)
    /// The socket file could not be given the configured group (relyd's user is not a member of it).
    case socketGroupRefused(path: String, group: UInt32, errno: Int32)

    public var description: String {
        switch self {
        case .system(let function, let code, let path):
            let message = String(cString: strerror(code))
            if let path { return "\(function)(\(path)) failed: \(message) (errno \(code))" }
            return "\(function) failed: \(message) (errno \(code))"
        case .pathTooLong(let path, let count, let limit):
            return "socket path is \(count) bytes, the limit is \(limit - 1): \(path)"
        case .anotherInstanceListening(let path):
            return "another relyd is listening on \(path)"
        case .notASocket(let path):
            return "\(path) exists and is not a socket; refusing to replace it"
        case .notAListeningSocket(let descriptor, let reason):
            return "descriptor \(descriptor) is not a listening Unix stream socket: \(reason)"
        case .alreadyStarted:
            return "the socket server was already started"
        case .parentDirectoryMissing(let path):
            return "the directory that should contain the socket's directory does not exist: \(path)"
        case .unsafeSocketDirectory(let path, let reason):
            return "refusing to create the socket in \(path): it \(reason)"
        case .socketGroupRefused(let path, let group, let code):
            return "cannot give \(path) the group \(group): \(String(cString: strerror(code))) (errno \(code))"
        }
    }

    /// Whether the configuration must change for the start to succeed (relyd then exits 78, as check-config).
    public var isConfigurationProblem: Bool {
        switch self {
        case .unsafeSocketDirectory, .socketGroupRefused, .pathTooLong, .notASocket: true
        default: false
        }
    }

    /// The C error, when this error comes from a failed call.
    public var errno: Int32? {
        if case .system(_, let code, _) = self { return code }
        return nil
    }
}

/// Identity of the socket file relyd bound, so that `stop` unlinks only its own file, never a successor's.
struct SocketFileIdentity: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
}

/// Result of one non-blocking `read`.
enum ReadOutcome: Equatable {
    case bytes(Int)
    case endOfFile
    case wouldBlock
}

/// Thin, EINTR-aware wrappers over the C calls of the socket transport.
enum Syscall {
    /// `sizeof(sockaddr_un.sun_path)` on Linux.
    static let sunPathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    static let epollIn = EPOLLIN.rawValue
    static let epollOut = EPOLLOUT.rawValue
    static let epollErr = EPOLLERR.rawValue
    static let epollHup = EPOLLHUP.rawValue

    // MARK: Plumbing

    private static var lastErrno: Int32 { Glibc.errno }

    /// Calls `body` until it does not fail with `EINTR`; returns its non-negative result or throws.
    @discardableResult
    private static func retrying(_ function: String, path: String? = nil, _ body: () -> Int32) throws(SocketError) -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = lastErrno
            if code == EINTR { continue }
            throw .system(function: function, errno: code, path: path)
        }
    }

    /// As ``retrying(_:path:_:)`` for calls returning `ssize_t`.
    private static func retryingSize(_ function: String, _ body: () -> Int) throws(SocketError) -> Int {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = lastErrno
            if code == EINTR { continue }
            throw .system(function: function, errno: code, path: nil)
        }
    }

    private static func isWouldBlock(_ error: SocketError) -> Bool {
        error.errno == EAGAIN || error.errno == EWOULDBLOCK
    }

    /// Checks `path` fits in `sun_path` with its terminating NUL.
    ///
    /// - Throws: ``SocketError/pathTooLong(path:byteCount:limit:)``.
    static func validateSocketPath(_ path: String) throws(SocketError) {
        let count = path.utf8.count
        if count == 0 || count >= sunPathCapacity {
            throw .pathTooLong(path: path, byteCount: count, limit: sunPathCapacity)
        }
    }

    /// Calls `body` with a `sockaddr_un` for `path`, as the `sockaddr` pointer and length the C API wants.
    private static func withUnixAddress<R>(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R
    ) throws(SocketError) -> R {
        try validateSocketPath(path)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)  // the rest stays zero: NUL-terminated
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    // MARK: Descriptors

    /// Closes `fd`, ignoring errors.
    ///
    /// Not retried on `EINTR`: on Linux the descriptor is released even when `close` reports `EINTR`, and a retry
    /// could close a descriptor another thread has just been given. The corresponding C function is `close`.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Ends the sending side of `fd` (the peer reads end of file after what was sent), ignoring errors. The
    /// corresponding C function is `shutdown` with `SHUT_WR`.
    static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// A new non-blocking, close-on-exec Unix stream socket. The corresponding C function is `socket`.
    static func unixStreamSocket() throws(SocketError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        return try retrying("socket") { Glibc.socket(AF_UNIX, type, 0) }
    }

    /// Sets `O_NONBLOCK` and `FD_CLOEXEC` on `fd`. The corresponding C function is `fcntl`.
    static func makeNonBlockingAndCloseOnExec(_ fd: Int32) throws(SocketError) {
        let flags = try retrying("fcntl") { fcntl(fd, F_GETFL) }
        try retrying("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        let fdFlags = try retrying("fcntl") { fcntl(fd, F_GETFD) }
        try retrying("fcntl") { fcntl(fd, F_SETFD, fdFlags | FD_CLOEXEC) }
    }

    // MARK: The listening socket

    /// Creates, binds and listens on the control socket at `path`, the OpenBSD way.
    ///
    /// 1. If `path` exists: a non-socket is refused; a socket is probed with `connect()`: a live listener is
    ///    refused, a stale socket (`ECONNREFUSED`) is unlinked.
    /// 2. A missing parent directory is created with mode 0750, one level only (its own parent must exist).
    /// 3. `bind` under `umask(0o177)` so the file is born 0600 at most, then `chmod(path, mode)` explicitly,
    ///    then `listen`. On any failure after `bind`, the file is unlinked and the descriptor closed.
    ///
    /// The umask is process-wide; it is restored right after `bind`. Files other threads create in that window get a
    /// more restrictive mode, never a looser one.
    ///
    /// - Returns: the non-blocking, close-on-exec listening descriptor and the identity of the file bound.
    static func makeListeningSocket(
        path: String, mode: mode_t, group: gid_t?, backlog: Int32
    ) throws(SocketError) -> (descriptor: Int32, identity: SocketFileIdentity) {
        try validateSocketPath(path)
        try createParentDirectoryIfMissing(of: path)
        try checkSocketDirectory(of: path)
        try removeStaleSocket(at: path)

        let fd = try unixStreamSocket()
        var bound = false
        do throws(SocketError) {
            let previousMask = umask(0o177)
            let bindCall: CallResult
            do throws(SocketError) {
                bindCall = try withUnixAddress(path) { address, length in
                    retryingUnchecked { Glibc.bind(fd, address, length) }
                }
            } catch {
                umask(previousMask)
                throw error
            }
            umask(previousMask)
            _ = try bindCall.get(function: "bind", path: path)
            bound = true
            if let group {
                let changed = retryingUnchecked { chown(path, uid_t.max, group) }
                if changed.value < 0 { throw .socketGroupRefused(path: path, group: group, errno: changed.errno) }
            }
            try retrying("chmod", path: path) { chmod(path, mode) }
            let identity = try fileIdentity(path)
            try retrying("listen", path: path) { Glibc.listen(fd, backlog) }
            return (fd, identity)
        } catch {
            if bound { _ = unlink(path) }
            close(fd)
            throw error
        }
    }

    /// Runs a C call until it does not fail with `EINTR`, returning its result and `errno`.
    private static func retryingUnchecked(_ body: () -> Int32) -> CallResult {
        while true {
            let result = body()
            if result >= 0 { return CallResult(value: result, errno: 0) }
            let code = lastErrno
            if code != EINTR { return CallResult(value: result, errno: code) }
        }
    }

    struct CallResult {
        var value: Int32
        var errno: Int32
        func get(function: String, path: String?) throws(SocketError) -> Int32 {
            if value >= 0 { return value }
            throw .system(function: function, errno: errno, path: path)
        }
    }

    /// Refuses a live listener or a non-socket at `path`; unlinks a stale socket. Nothing at `path` is fine.
    private static func removeStaleSocket(at path: String) throws(SocketError) {
        var status = stat()
        let result = retryingUnchecked { lstat(path, &status) }
        if result.value < 0 {
            if result.errno == ENOENT { return }
            throw .system(function: "lstat", errno: result.errno, path: path)
        }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path: path) }

        let probe = try unixStreamSocket()
        defer { close(probe) }
        let connected = try withUnixAddress(path) { address, length in
            retryingUnchecked { Glibc.connect(probe, address, length) }
        }
        switch connected.errno {
        case 0, EAGAIN, EINPROGRESS:
            // Accepted, or a live listener whose backlog is full: someone serves this path.
            throw .anotherInstanceListening(path: path)
        case ECONNREFUSED:
            // Nobody listens: a stale file left by a crash. Unlink it.
            let unlinked = retryingUnchecked { unlink(path) }
            if unlinked.value < 0 && unlinked.errno != ENOENT {
                throw .system(function: "unlink", errno: unlinked.errno, path: path)
            }
        case ENOENT:
            return  // removed meanwhile
        default:
            throw .system(function: "connect", errno: connected.errno, path: path)
        }
    }

    /// The directory holding `path`: "/" for a file at the root, "." for a bare name.
    private static func parentDirectory(of path: String) -> String {
        var bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        guard slash > 0 else { return "/" }
        bytes.removeSubrange(slash...)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Refuses a socket directory where another user could swap the socket for their own.
    private static func checkSocketDirectory(of path: String) throws(SocketError) {
        let parent = parentDirectory(of: path)
        var status = stat()
        try retrying("stat", path: parent) { stat(parent, &status) }
        if let reason = unsafeDirectoryReason(mode: status.st_mode, owner: status.st_uid, ourUID: geteuid()) {
            throw .unsafeSocketDirectory(path: parent, reason: reason)
        }
    }

    /// Why a directory with this mode and owner is unsafe for relyd's socket, or nil when it is safe. A
    /// world-writable directory without the sticky bit lets anyone rename the socket away and put theirs in its
    /// place; a directory owned by another non-root user lets that user do the same.
    static func unsafeDirectoryReason(mode: mode_t, owner: uid_t, ourUID: uid_t) -> String? {
        if mode & S_IWOTH != 0 && mode & S_ISVTX == 0 { return "is world-writable without the sticky bit" }
        if owner != 0 && owner != ourUID { return "is owned by uid \(owner), neither root nor relyd's user" }
        return nil
    }

    /// The gid of group `name`, or nil when this host has no such group. The corresponding C function is
    /// `getgrnam_r`, whose buffer must hold the group's whole member list: a directory-service group with thousands
    /// of members needs more than the first guess, so ERANGE doubles it (up to 16 MiB) instead of meaning "no group".
    static func groupID(named name: String, initialBufferSize: Int = 16 * 1024) -> UInt32? {
        var bufferSize = max(1, initialBufferSize)
        while true {
            var group = Glibc.group()
            var found: UnsafeMutablePointer<Glibc.group>?
            var buffer = [CChar](repeating: 0, count: bufferSize)
            let result = getgrnam_r(name, &group, &buffer, buffer.count, &found)
            if result == ERANGE, bufferSize < 16 << 20 {
                bufferSize *= 2
                continue
            }
            guard result == 0, found != nil else { return nil }
            return group.gr_gid
        }
    }

    /// Creates the socket's directory with mode 0750 when it is missing; only that last component.
    private static func createParentDirectoryIfMissing(of path: String) throws(SocketError) {
        guard path.utf8.contains(UInt8(ascii: "/")) else { return }
        let parent = parentDirectory(of: path)
        if parent == "/" { return }
        var status = stat()
        let existing = retryingUnchecked { stat(parent, &status) }
        if existing.value == 0 { return }  // exists (if it is not a directory, bind reports ENOTDIR)
        guard existing.errno == ENOENT else {
            throw .system(function: "stat", errno: existing.errno, path: parent)
        }
        let made = retryingUnchecked { mkdir(parent, 0o750) }
        if made.value < 0 {
            switch made.errno {
            case EEXIST: return
            case ENOENT: throw .parentDirectoryMissing(path: parent)
            default: throw .system(function: "mkdir", errno: made.errno, path: parent)
            }
        }
        // The umask is process-wide and `bind` narrows it for a moment: set the mode explicitly, whatever another
        // thread's bind did to it meanwhile.
        try retrying("chmod", path: parent) { chmod(parent, 0o750) }
    }

    /// Device and inode of the file at `path` (not following a symlink). The corresponding C function is `lstat`.
    static func fileIdentity(_ path: String) throws(SocketError) -> SocketFileIdentity {
        var status = stat()
        try retrying("lstat", path: path) { lstat(path, &status) }
        return SocketFileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// Unlinks `path` if it is still the file relyd bound; leaves a successor's socket alone. Errors are ignored:
    /// this runs during shutdown, when there is nobody left to tell.
    static func unlinkIfUnchanged(_ path: String, identity: SocketFileIdentity) {
        guard let current = try? fileIdentity(path), current == identity else { return }
        _ = retryingUnchecked { unlink(path) }
    }

    /// Checks that an inherited descriptor is a listening stream socket, and makes it non-blocking and
    /// close-on-exec. Its mode is left alone: whoever created it (systemd's `SocketMode=`) owns that.
    static func adoptListeningSocket(_ fd: Int32) throws(SocketError) {
        var status = stat()
        let statted = retryingUnchecked { fstat(fd, &status) }
        guard statted.value == 0 else {
            throw .notAListeningSocket(descriptor: fd, reason: "fstat failed with errno \(statted.errno)")
        }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw .notAListeningSocket(descriptor: fd, reason: "not a socket")
        }
        guard try socketOption(fd, SO_TYPE) == Int32(SOCK_STREAM.rawValue) else {
            throw .notAListeningSocket(descriptor: fd, reason: "not a stream socket")
        }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                retryingUnchecked { getsockname(fd, address, &length) }
            }
        }
        _ = try named.get(function: "getsockname", path: nil)
        guard address.ss_family == sa_family_t(AF_UNIX) else {
            throw .notAListeningSocket(descriptor: fd, reason: "not a Unix domain socket")
        }
        guard try socketOption(fd, SO_ACCEPTCONN) == 1 else {
            throw .notAListeningSocket(descriptor: fd, reason: "not listening")
        }
        try makeNonBlockingAndCloseOnExec(fd)
    }

    private static func socketOption(_ fd: Int32, _ option: Int32) throws(SocketError) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        try retrying("getsockopt") { getsockopt(fd, SOL_SOCKET, option, &value, &length) }
        return value
    }

    // MARK: Connections

    /// Accepts one connection as a non-blocking, close-on-exec descriptor, or nil when none is pending.
    /// The corresponding C function is `accept4`.
    static func accept(_ listener: Int32) throws(SocketError) -> Int32? {
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        do {
            return try retrying("accept4") { accept4(listener, nil, nil, flags) }
        } catch {
            // ECONNABORTED: the client left before we accepted; treat like "nothing pending this time".
            if isWouldBlock(error) || error.errno == ECONNABORTED { return nil }
            throw error
        }
    }

    /// The peer's pid, uid and gid as the kernel recorded them at `connect()`. The corresponding C option is
    /// `SO_PEERCRED`.
    static func peerCredentials(_ fd: Int32) throws(SocketError) -> PeerCredentials {
        var credentials = relyd_ucred()
        var length = socklen_t(MemoryLayout<relyd_ucred>.size)
        try retrying("getsockopt") { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) }
        return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
    }

    /// Reads at most `buffer.count` bytes from a non-blocking descriptor. The corresponding C function is `read`.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> ReadOutcome {
        do {
            let count = try retryingSize("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            return count == 0 ? .endOfFile : .bytes(count)
        } catch {
            if isWouldBlock(error) { return .wouldBlock }
            throw error
        }
    }

    /// Sends what the socket takes without blocking; returns the number of bytes sent, 0 when it would block.
    /// Uses `MSG_NOSIGNAL`, so a vanished peer is an `EPIPE` error, never a `SIGPIPE`. The corresponding C function
    /// is `send`.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        do {
            return try retryingSize("send") { Glibc.send(fd, base, bytes.count, Int32(MSG_NOSIGNAL)) }
        } catch {
            if isWouldBlock(error) { return 0 }
            throw error
        }
    }

    // MARK: epoll and eventfd

    /// A new close-on-exec epoll instance. The corresponding C function is `epoll_create1`.
    static func epollCreate() throws(SocketError) -> Int32 {
        try retrying("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    enum EpollOperation {
        case add, modify, delete
        var rawValue: Int32 {
            switch self {
            case .add: EPOLL_CTL_ADD
            case .modify: EPOLL_CTL_MOD
            case .delete: EPOLL_CTL_DEL
            }
        }
    }

    /// Registers, changes or removes interest in `fd`; `token` comes back in each event. Level-triggered.
    /// The corresponding C function is `epoll_ctl`.
    static func epollControl(_ epfd: Int32, _ operation: EpollOperation, _ fd: Int32, events: UInt32, token: UInt64)
        throws(SocketError)
    {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        try retrying("epoll_ctl") { epoll_ctl(epfd, operation.rawValue, fd, &event) }
    }

    /// Waits for events; `timeoutMilliseconds` −1 waits forever. Returns 0 on `EINTR` (the caller loops anyway).
    /// The corresponding C function is `epoll_wait`.
    static func epollWait(
        _ epfd: Int32, into events: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: Int32
    ) throws(SocketError) -> Int {
        let result = epoll_wait(epfd, events.baseAddress, Int32(events.count), timeoutMilliseconds)
        if result >= 0 { return Int(result) }
        let code = lastErrno
        if code == EINTR { return 0 }  // not retried here: the caller recomputes its timeout
        throw .system(function: "epoll_wait", errno: code, path: nil)
    }

    /// A non-blocking, close-on-exec eventfd used to wake the event loop. The corresponding C function is `eventfd`.
    static func eventFD() throws(SocketError) -> Int32 {
        try retrying("eventfd") { eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK)) }
    }

    /// Adds one to the eventfd's counter, waking its reader. A full counter (EAGAIN) already means "wake up".
    static func signalEventFD(_ fd: Int32) {
        var one: UInt64 = 1
        _ = try? retryingSize("write") { withUnsafeBytes(of: &one) { Glibc.write(fd, $0.baseAddress, 8) } }
    }

    /// Resets the eventfd's counter.
    static func drainEventFD(_ fd: Int32) {
        var value: UInt64 = 0
        _ = try? retryingSize("read") { withUnsafeMutableBytes(of: &value) { Glibc.read(fd, $0.baseAddress, 8) } }
    }
}
