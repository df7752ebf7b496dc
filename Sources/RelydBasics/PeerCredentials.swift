/// Who is on the other end of a connection, as the kernel recorded it at `connect()` (`SO_PEERCRED`).
///
/// Shared by the socket server, which reads it, and the command layer, which decides what the peer may do.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    /// The peer's primary group at `connect()`; supplementary groups are not visible through `SO_PEERCRED`.
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}
