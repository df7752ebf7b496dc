import Foundation
import RelydHTTP
import RelydProtocol
import RelydStore
import RelydTestSupport
import Testing

/// update_site, remove_site, get_site and list_sites against the fake OP with RFC 7592 client management.
@Suite struct SiteLifecycleTests {
    let harness = DispatcherHarness()
    let registry: FakeClientRegistry

    init() {
        registry = FakeClientRegistry(op: harness.op, clock: harness.clock)
    }

    func stored(_ oxdID: String) async throws -> Site {
        try #require(try await harness.store.site(id: oxdID))
    }

    func redeem(_ oxdID: String) async throws -> DispatcherHarness.Response {
        let (code, state) = try await harness.login(oxdID: oxdID)
        return await harness.send("get_tokens_by_code",
                                  ["oxd_id": .string(oxdID), "code": .string(code), "state": .string(state)])
    }

    /// get_site returns every public field and none of the site's secrets.
    @Test func getSite_returnsPublicMetadata_withoutSecrets() async throws {
        let oxdID = try await harness.registerSite(["client_name": .string("demo")])
        let response = await harness.send("get_site", ["oxd_id": .string(oxdID)])
        #expect(response.isOK, "\(response.raw)")
        #expect(Set(response.data.keys) == [
            "oxd_id", "op_host", "client_id", "client_name", "authorization_redirect_uri", "scope", "grant_types",
            "response_types", "token_endpoint_auth_method", "dynamically_registered", "created_at", "provider_kind",
        ])
        #expect(response.data["oxd_id"] == .string(oxdID))
        #expect(response.data["client_name"] == .string("demo"))
        #expect(response.data["dynamically_registered"] == .bool(true))
        #expect(response.data["created_at"] == .integer(1_700_000_000))
        #expect(response.data["provider_kind"] == .string("oidc"))
        let site = try await stored(oxdID)
        #expect(!response.raw.contains(try #require(site.clientSecret).revealed))
        #expect(!response.raw.contains(try #require(site.registrationAccessToken).revealed))
    }

    /// get_site and remove_site of an unknown oxd_id are unknown_site.
    @Test(arguments: ["get_site", "remove_site"])
    func unknownSite_isRejected(command: String) async {
        #expect(await harness.send(command, ["oxd_id": .string("nope")]).errorCode == "unknown_site")
    }

    /// list_sites is empty at first, then lists every site sorted by oxd_id.
    @Test func listSites_listsEverySite_sortedByOxdID() async throws {
        let empty = await harness.send("list_sites", [:])
        #expect(empty.data["sites"] == .array([]))
        let ids = [try await harness.registerSite(), try await harness.registerSite(), try await harness.registerSite()]
        let response = await harness.send("list_sites", [:])
        let listed = response.data["sites"]?.arrayValue?.compactMap { $0["oxd_id"]?.stringValue }
        #expect(listed == ids.sorted())
        #expect(!response.raw.contains("dyn-secret-"))
    }

    /// update_site PUTs the full metadata with client_id and the Bearer registration access token, keeps the OP's
    /// rotated secret and token, and logins then use the new redirect URI and secret.
    @Test func updateSite_dynamic_pushesToOP_andKeepsItsAnswer() async throws {
        let oxdID = try await harness.registerSite(["client_name": .string("before")])
        let before = try await stored(oxdID)
        let response = await harness.send("update_site", [
            "oxd_id": .string(oxdID), "authorization_redirect_uri": .string("https://rp.example/new-callback"),
            "client_name": .string("after"), "scope": .array([.string("email")]),
            "post_logout_redirect_uri": .string("https://rp.example/bye"),
        ])
        #expect(response.isOK, "\(response.raw)")
        #expect(response.data["authorization_redirect_uri"] == .string("https://rp.example/new-callback"))
        #expect(response.data["post_logout_redirect_uri"] == .string("https://rp.example/bye"))
        #expect(response.data["scope"] == .array([.string("openid"), .string("email")]))
        #expect(response.data["client_name"] == .string("after"))

        let put = try #require(harness.op.requests(to: "/register/\(before.clientID)").first)
        #expect(put.method == .put)
        #expect(put.headers.contains { $0.0 == "Authorization" && $0.1 == "Bearer rat-\(before.clientID)" })
        let body = try JSONDecoder().decode([String: JSONValue].self, from: put.body ?? Data())
        #expect(body["client_id"] == .string(before.clientID))
        #expect(body["redirect_uris"] == .array([.string("https://rp.example/new-callback")]))
        #expect(body["post_logout_redirect_uris"] == .array([.string("https://rp.example/bye")]))
        #expect(body["client_name"] == .string("after"))
        #expect(body["scope"] == .string("openid email"))
        #expect(body["client_secret"] == nil)

        let after = try await stored(oxdID)
        let record = try #require(registry.record(before.clientID))
        #expect(after.clientSecret?.revealed == record.secret)
        #expect(after.clientSecret != before.clientSecret)
        #expect(after.registrationAccessToken?.revealed == record.registrationAccessToken)
        #expect(after.registrationAccessToken != before.registrationAccessToken)
        #expect(after.clientID == before.clientID)
        #expect(try await redeem(oxdID).isOK)
    }

    /// When the OP refuses, is unreachable or answers garbage, update_site fails with its code and the stored site
    /// is unchanged.
    @Test(arguments: OPFailure.allCases)
    func updateSite_whenOPFails_leavesTheSiteUnchanged(failure: OPFailure) async throws {
        let oxdID = try await harness.registerSite()
        let before = try await stored(oxdID)
        harness.op.override(path: "/register/\(before.clientID)", failure.respond)
        let response = await harness.send("update_site", ["oxd_id": .string(oxdID), "client_name": .string("x")])
        #expect(response.errorCode == failure.code)
        #expect(try await stored(oxdID) == before)
    }

    /// A pre-registered site is updated locally only.
    @Test func updateSite_preRegistered_changesOnlyTheStore() async throws {
        harness.op.addClient(id: "pre", secret: "pre-secret", redirectURIs: ["https://rp.example/callback"])
        let oxdID = try await harness.registerSite(["client_id": .string("pre"), "client_secret": .string("pre-secret")])
        let response = await harness.send("update_site", ["oxd_id": .string(oxdID), "grant_types":
            .array([.string("authorization_code"), .string("refresh_token")])])
        #expect(response.isOK, "\(response.raw)")
        #expect(try await stored(oxdID).grantTypes == ["authorization_code", "refresh_token"])
        #expect(harness.op.requests.allSatisfy { !$0.url.path.hasPrefix("/register") })
    }

    /// Bad update_site input is refused before any OP call; an unknown site is unknown_site.
    @Test(arguments: [
        ([:], "invalid_parameter"),
        (["authorization_redirect_uri": JSONValue.string("/relative")], "invalid_parameter"),
        (["post_logout_redirect_uri": .string("https://rp.example/#x")], "invalid_parameter"),
        (["grant_types": .array([])], "invalid_parameter"),
        (["response_types": .array([.string("")])], "invalid_parameter"),
        (["oxd_id": .string("nope"), "client_name": .string("x")], "unknown_site"),
    ])
    func updateSite_withBadInput_isRefused(extra: [String: JSONValue], code: String) async throws {
        let oxdID = try await harness.registerSite()
        let requestsBefore = harness.op.requests.count
        var params: [String: JSONValue] = ["oxd_id": .string(oxdID)]
        params.merge(extra) { $1 }
        #expect(await harness.send("update_site", params).errorCode == code)
        #expect(harness.op.requests.count == requestsBefore)
    }

    /// remove_site DELETEs the registration with the Bearer token, then forgets the site and its pending logins.
    @Test func removeSite_dynamic_deregistersAtOP_andForgetsTheSite() async throws {
        let oxdID = try await harness.registerSite()
        let site = try await stored(oxdID)
        let (code, state) = try await harness.login(oxdID: oxdID)
        let response = await harness.send("remove_site", ["oxd_id": .string(oxdID)])
        #expect(response.isOK, "\(response.raw)")
        #expect(response.data["op_deregistered"] == .bool(true))
        #expect(response.data["oxd_id"] == .string(oxdID))
        let delete = try #require(harness.op.requests(to: "/register/\(site.clientID)").last)
        #expect(delete.method == .delete)
        #expect(delete.headers.contains { $0.0 == "Authorization" && $0.1 == "Bearer rat-\(site.clientID)" })
        #expect(registry.record(site.clientID) == nil)
        #expect(try await harness.store.site(id: oxdID) == nil)
        #expect(try await harness.store.consumePendingAuthorization(state: state, siteID: oxdID,
                                                                   now: harness.clock.now()) == nil)
        #expect(await harness.send("get_tokens_by_code", ["oxd_id": .string(oxdID), "code": .string(code),
                                                          "state": .string(state)]).errorCode == "unknown_site")
    }

    /// A 404 from the OP means the client is already gone: deregistered.
    @Test func removeSite_whenOPNoLongerKnowsTheClient_countsAsDeregistered() async throws {
        let oxdID = try await harness.registerSite()
        harness.op.override(path: "/register/\(try await stored(oxdID).clientID)") { _ in HTTPResponse(status: 404) }
        let response = await harness.send("remove_site", ["oxd_id": .string(oxdID)])
        #expect(response.data["op_deregistered"] == .bool(true))
    }

    /// When the OP refuses or cannot be reached, the site is removed anyway, op_deregistered is false and the
    /// reason is logged.
    @Test(arguments: [OPFailure.refused, .unreachable])
    func removeSite_whenOPFails_removesLocallyAnyway(failure: OPFailure) async throws {
        let oxdID = try await harness.registerSite()
        harness.op.override(path: "/register/\(try await stored(oxdID).clientID)", failure.respond)
        let response = await harness.send("remove_site", ["oxd_id": .string(oxdID)])
        #expect(response.isOK, "\(response.raw)")
        #expect(response.data["op_deregistered"] == .bool(false))
        #expect(try await harness.store.site(id: oxdID) == nil)
        #expect(harness.logs.text.contains("the OP could not be told to delete the client"))
    }

    /// A pre-registered site is removed locally without calling the OP.
    @Test func removeSite_preRegistered_doesNotCallTheOP() async throws {
        let oxdID = try await harness.registerSite(["client_id": .string("pre"), "client_secret": .string("s")])
        let requestsBefore = harness.op.requests.count
        let response = await harness.send("remove_site", ["oxd_id": .string(oxdID)])
        #expect(response.data["op_deregistered"] == .bool(false))
        #expect(harness.op.requests.count == requestsBefore)
        #expect(await harness.send("get_site", ["oxd_id": .string(oxdID)]).errorCode == "unknown_site")
    }
}

/// Ways an OP's client configuration endpoint can fail, with the code relyd answers.
enum OPFailure: CaseIterable, Sendable {
    case refused, unreachable, notJSON, otherClient

    var code: String {
        switch self {
        case .refused: "op_error"
        case .unreachable: "op_unreachable"
        case .notJSON, .otherClient: "op_response_invalid"
        }
    }

    @Sendable func respond(_ request: HTTPRequest) throws(HTTPTransportError) -> HTTPResponse {
        switch self {
        case .refused: return FakeOP.json(["error": .string("invalid_token")], status: 401)
        case .unreachable: throw .unreachable("down")
        case .notJSON: return HTTPResponse(status: 200, body: Data("<html>".utf8))
        case .otherClient: return FakeOP.json(["client_id": .string("someone-else"), "client_secret": .string("s")])
        }
    }
}
