import RelydProtocol

/// What `stats` reports about parts the command layer does not own (the socket server, the store's files).
/// The daemon injects closures, so this target needs no dependency on the server.
public struct OperationalProbes: Sendable {
    /// The socket's connection counts; nil when there is no socket server.
    public var connections: @Sendable () -> Stats.Connections?
    /// The store's size on disk in bytes; nil when unknown (an in-memory store).
    public var storeBytes: @Sendable () -> Int?

    public init(connections: @escaping @Sendable () -> Stats.Connections? = { nil },
                storeBytes: @escaping @Sendable () -> Int? = { nil }) {
        self.connections = connections
        self.storeBytes = storeBytes
    }
}
