import RelydBasics

/// Which peers may use the daemon, and which of them may change sites.
///
/// An empty pair of lists allows everyone: for `allowed`, anyone who can open the socket; for `admin`, anyone
/// allowed. A non-empty pair admits a peer whose uid is in the uid list or whose primary gid is in the gid list.
public struct AccessPolicy: Sendable, Equatable {
    public var allowedUIDs: Set<UInt32> = []
    public var allowedGIDs: Set<UInt32> = []
    public var adminUIDs: Set<UInt32> = []
    public var adminGIDs: Set<UInt32> = []

    public init(allowedUIDs: Set<UInt32> = [], allowedGIDs: Set<UInt32> = [], adminUIDs: Set<UInt32> = [],
                adminGIDs: Set<UInt32> = []) {
        self.allowedUIDs = allowedUIDs
        self.allowedGIDs = allowedGIDs
        self.adminUIDs = adminUIDs
        self.adminGIDs = adminGIDs
    }

    /// May `peer` send any request at all?
    public func allows(_ peer: PeerCredentials) -> Bool {
        Self.admits(peer, uids: allowedUIDs, gids: allowedGIDs)
    }

    /// May `peer` run the commands that change sites (those whose handler sets `changesSites`)?
    public func allowsChangingSites(_ peer: PeerCredentials) -> Bool {
        allows(peer) && Self.admits(peer, uids: adminUIDs, gids: adminGIDs)
    }

    private static func admits(_ peer: PeerCredentials, uids: Set<UInt32>, gids: Set<UInt32>) -> Bool {
        (uids.isEmpty && gids.isEmpty) || uids.contains(peer.uid) || gids.contains(peer.gid)
    }
}

/// The access policy in force, replaceable while the daemon serves (SIGHUP reloads it).
public final class AccessControl: Sendable {
    private let current: Locked<AccessPolicy>

    public init(_ policy: AccessPolicy = AccessPolicy()) {
        current = Locked(policy)
    }

    /// What `peer` may do under the policy in force, decided under the lock: copying the policy out would retain and
    /// release its four sets on the path of every request.
    public func permissions(for peer: PeerCredentials) -> (allowed: Bool, mayChangeSites: Bool) {
        current.withLock { policy in (policy.allows(peer), policy.allowsChangingSites(peer)) }
    }

    /// Installs `policy` for every request from now on.
    public func replace(with policy: AccessPolicy) {
        current.withLock { $0 = policy }
    }
}
