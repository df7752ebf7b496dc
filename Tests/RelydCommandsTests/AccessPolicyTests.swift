import Foundation
import RelydBasics
import RelydCommands
import RelydProtocol
import RelydTestSupport
import Testing

/// Peer access through the dispatcher: allowed lists, admin lists for the commands that change sites.
@Suite struct AccessPolicyTests {
    static let stranger = PeerCredentials(pid: 77, uid: 2000, gid: 2000)
    static let webApp = PeerCredentials(pid: 78, uid: 33, gid: 33)
    static let admin = PeerCredentials(pid: 79, uid: 0, gid: 0)

    /// With no lists, any peer may run any command.
    @Test func emptyLists_allowEveryPeer() async throws {
        let harness = DispatcherHarness()
        #expect(await harness.send("health", [:], peer: Self.stranger).isOK)
        _ = try await harness.registerSite()
    }

    /// A peer outside allowed_uids and allowed_gids gets access_denied for every command, and is logged.
    @Test func peerOutsideAllowedLists_isDeniedAndLoggedWithUidAndPid() async {
        let harness = DispatcherHarness(access: AccessPolicy(allowedUIDs: [33], allowedGIDs: [50]))
        let denied = await harness.send("health", [:], id: 9, peer: Self.stranger)
        #expect(denied.errorCode == "access_denied")
        #expect(denied.id == .integer(9))
        #expect(await harness.send("not json", peer: Self.stranger).errorCode == "access_denied")
        #expect(await harness.send("no_such_command", [:], peer: Self.stranger).errorCode == "access_denied")
        let warning = harness.logs.events.first { $0.message == "peer refused" }
        #expect(warning?.level == .warning)
        let fields = Dictionary((warning?.fields ?? []).map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })
        #expect(fields["peer.uid"] == "2000")
        #expect(fields["peer.pid"] == "77")
    }

    /// A peer is allowed by its uid or by its primary gid.
    @Test func peerInAllowedUidsOrGids_isServed() async {
        let harness = DispatcherHarness(access: AccessPolicy(allowedUIDs: [33], allowedGIDs: [2000]))
        #expect(await harness.send("health", [:], peer: Self.webApp).isOK)
        #expect(await harness.send("health", [:], peer: Self.stranger).isOK)
    }

    /// With admin lists set, only admins may register, update or remove sites; others may still use them.
    @Test func adminLists_restrictOnlyTheCommandsThatChangeSites() async throws {
        let harness = DispatcherHarness(access: AccessPolicy(adminUIDs: [0]))
        let params: [String: JSONValue] = [
            "op_host": .string(harness.op.issuer), "authorization_redirect_uri": .string("https://rp.example/cb"),
        ]
        #expect(await harness.send("register_site", params, peer: Self.webApp).errorCode == "access_denied")
        let registered = await harness.send("register_site", params, peer: Self.admin)
        let oxdID = try #require(registered.data["oxd_id"]?.stringValue)
        let site: [String: JSONValue] = ["oxd_id": .string(oxdID)]
        #expect(await harness.send("get_site", site, peer: Self.webApp).isOK)
        #expect(await harness.send("get_authorization_url", site, peer: Self.webApp).isOK)
        #expect(await harness.send("update_site", site.merging(["client_name": .string("x")]) { $1 },
                                   peer: Self.webApp).errorCode == "access_denied")
        #expect(await harness.send("remove_site", site, peer: Self.webApp).errorCode == "access_denied")
        #expect(await harness.send("remove_site", site, peer: Self.admin).isOK)
    }

    /// An admin must also be allowed: the admin lists do not widen the allowed lists.
    @Test func adminOutsideAllowedLists_isDenied() async {
        let harness = DispatcherHarness(access: AccessPolicy(allowedUIDs: [33], adminUIDs: [0]))
        #expect(await harness.send("health", [:], peer: Self.admin).errorCode == "access_denied")
    }

    /// A replaced policy applies to the next request.
    @Test func replacedPolicy_appliesToTheNextRequest() async {
        let harness = DispatcherHarness()
        #expect(await harness.send("health", [:], peer: Self.stranger).isOK)
        harness.dispatcher.access.replace(with: AccessPolicy(allowedUIDs: [33]))
        #expect(await harness.send("health", [:], peer: Self.stranger).errorCode == "access_denied")
    }
}
