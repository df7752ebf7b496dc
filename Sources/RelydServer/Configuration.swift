#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydOIDC

/// The daemon's settings, with their defaults. Knows no file format: ``ConfigurationFile`` reads `sample.cfg`'s.
public struct Configuration: Sendable, Equatable {
    /// Where the daemon listens. The embedded default is under `./.relyd/` so that a first run needs no root.
    public var socketPath = ".relyd/relyd.sock"
    /// The socket file's mode: owner and group may connect.
    public var socketMode: UInt32 = 0o660
    /// The group given the socket file when relyd binds it (a gid; the file accepts a name); nil: the process's.
    public var socketGroup: UInt32?
    /// Where the store lives (the SQLite database). Created 0700 when missing.
    public var stateDirectory = ".relyd"
    public var logLevel: LogLevel = .info
    /// An extra CA bundle trusted for the OP's TLS certificates (a private or test CA).
    public var caFile: String?
    /// Accept `http://` issuers and endpoints on loopback addresses.
    public var allowHTTPLoopback = false
    public var opConnectTimeoutMilliseconds = 3000
    public var opTimeoutMilliseconds = 10_000
    public var opMaxResponseBytes = 1 << 20
    public var clockSkewSeconds = 60
    public var stateLifetimeSeconds = 300
    public var metadataCacheSeconds = 3600
    public var maxLineBytes = 64 * 1024
    public var maxConnections = 1024
    public var maxConnectionsPerUID = 256
    /// Seconds without a request after which a connection is closed; 0: never.
    public var idleTimeoutSeconds = 300
    /// Requests per second per connection, on average, beyond `requestBurst` at once; 0: unlimited.
    public var requestsPerSecond = 0
    public var requestBurst = 100
    /// How long SIGTERM waits for requests in flight before closing connections.
    public var shutdownDrainSeconds = 10
    /// Threads reading and answering the socket's connections. One is the default: it answers about 190,000-200,000
    /// `health` requests a second on this project's 2-core test machine, and CPU-heavy work (signatures, keys)
    /// leaves it for the ``ComputePool`` anyway. A second loop costs wake-ups: on 2 shared cores, 64 connections
    /// got 0.60-0.61x redis's rate with two loops and 0.68-0.70x with one (relyd-bench section 1; see
    /// SocketServer.swift's DESIGN).
    public var eventLoops = 1
    /// The OPs sites may use and discovery or WebFinger may reach; empty allows any.
    public var allowedOPHosts = AllowedOPHosts.any
    /// Peers (by uid, or by primary gid) that may send requests; both empty: anyone who can open the socket.
    public var allowedUIDs: Set<UInt32> = []
    public var allowedGIDs: Set<UInt32> = []
    /// Peers that may run the commands that change sites; both empty: every allowed peer.
    public var adminUIDs: Set<UInt32> = []
    public var adminGIDs: Set<UInt32> = []
    /// Where sites and pending authorizations live: SQLite in `stateDirectory` (one host), or a PostgreSQL database
    /// that several relyd instances share (several hosts behind one load balancer).
    public var store: StoreBackend = .sqlite
    /// The libpq connection URL for `store = postgresql`. It may hold a password: masked by check-config, never
    /// logged.
    public var postgresqlURL = ""

    public init() {}

    /// The store backends `store` can name.
    public enum StoreBackend: String, Sendable, CaseIterable {
        case sqlite
        case postgresql
    }
}
