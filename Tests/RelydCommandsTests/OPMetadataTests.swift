import Foundation
import RelydHTTP
import RelydOIDC
import RelydProtocol
import RelydTestSupport
import Testing

/// get_discovery, get_issuer (WebFinger) and the allowed_op_hosts restriction.
@Suite struct OPMetadataTests {
    let harness = DispatcherHarness()

    static func restricted(_ entries: [String]) throws -> DispatcherHarness {
        var settings = OIDCSettings()
        settings.allowedOPHosts = try AllowedOPHosts(entries)
        return DispatcherHarness(settings: settings)
    }

    /// A WebFinger endpoint on the fake OP that names `issuer`, recording nothing else.
    func serveWebFinger(issuer: JSONValue = .string("https://op.example")) {
        harness.op.override(path: "/.well-known/webfinger") { _ in
            FakeOP.json(["subject": .string("acct:alice@op.example"), "links": .array([
                .object(["rel": .string("http://webfinger.net/rel/profile-page"), "href": .string("https://x.example")]),
                .object(["rel": .string("http://openid.net/specs/connect/1.0/issuer"), "href": issuer]),
            ])])
        }
    }

    /// get_discovery by op_host returns the OP's raw document, including members relyd does not model.
    @Test func getDiscovery_byOpHost_returnsTheRawDocument() async {
        harness.op.discoveryEdits = { $0["x_custom"] = .string("kept") }
        let response = await harness.send("get_discovery", ["op_host": .string("https://op.example")])
        #expect(response.isOK, "\(response.raw)")
        #expect(response.data["discovery"]?["issuer"] == .string("https://op.example"))
        #expect(response.data["discovery"]?["x_custom"] == .string("kept"))
    }

    /// get_discovery by oxd_id uses the site's issuer and the cache.
    @Test func getDiscovery_byOxdID_usesTheSitesIssuer() async throws {
        let oxdID = try await harness.registerSite()
        let response = await harness.send("get_discovery", ["oxd_id": .string(oxdID)])
        #expect(response.data["discovery"]?["token_endpoint"] == .string("https://op.example/token"))
        #expect(harness.op.requests(to: "/.well-known/openid-configuration").count == 1)
    }

    /// Neither or both of op_host and oxd_id is invalid_parameter; an unknown oxd_id is unknown_site; an issuer
    /// mismatch is reported as for register_site.
    @Test(arguments: [
        ([:], "invalid_parameter"),
        (["op_host": JSONValue.string("https://op.example"), "oxd_id": .string("x")], "invalid_parameter"),
        (["oxd_id": .string("nope")], "unknown_site"),
        (["op_host": .string("https://op.example/")], "issuer_mismatch"),
        (["op_host": .string("http://op.example")], "invalid_parameter"),
    ])
    func getDiscovery_withBadInput_isRefused(params: [String: JSONValue], code: String) async {
        #expect(await harness.send("get_discovery", params).errorCode == code)
    }

    /// get_issuer asks the resource's host by WebFinger with the issuer rel and returns the issuer link.
    @Test(arguments: [
        ("acct:alice@op.example", "acct:alice@op.example"),
        ("alice@op.example", "acct:alice@op.example"),
        ("https://op.example/alice#me", "https://op.example/alice"),
    ])
    func getIssuer_resolvesByWebFinger(resource: String, asked: String) async throws {
        serveWebFinger()
        let response = await harness.send("get_issuer", ["resource": .string(resource)])
        #expect(response.data["issuer"] == .string("https://op.example"), "\(response.raw)")
        let request = try #require(harness.op.requests(to: "/.well-known/webfinger").first)
        #expect(request.url.scheme == "https")
        #expect(request.url.host == "op.example")
        let query = URLComponents(url: request.url, resolvingAgainstBaseURL: false)?.queryItems ?? []
        #expect(query.first { $0.name == "resource" }?.value == asked)
        #expect(query.first { $0.name == "rel" }?.value == "http://openid.net/specs/connect/1.0/issuer")
    }

    /// A resource that is not acct:, user@host or an https URL is invalid_parameter, and nothing is fetched.
    @Test(arguments: ["alice", "@op.example", "alice@", "http://op.example/alice", "ftp://op.example/a",
                      "acct:alice@op.example/path"])
    func getIssuer_withBadResource_isInvalidParameter(resource: String) async {
        #expect(await harness.send("get_issuer", ["resource": .string(resource)]).errorCode == "invalid_parameter")
        #expect(harness.op.requests.isEmpty)
    }

    /// An answer without an acceptable issuer link is op_response_invalid; a failing host is reported as such.
    @Test func getIssuer_withBadAnswer_isReported() async {
        let resource: [String: JSONValue] = ["resource": .string("alice@op.example")]
        serveWebFinger(issuer: .string("http://op.example"))
        #expect(await harness.send("get_issuer", resource).errorCode == "op_response_invalid")
        serveWebFinger(issuer: .integer(1))
        #expect(await harness.send("get_issuer", resource).errorCode == "op_response_invalid")
        harness.op.override(path: "/.well-known/webfinger") { _ in FakeOP.json(["subject": .string("x")]) }
        #expect(await harness.send("get_issuer", resource).errorCode == "op_response_invalid")
        harness.op.override(path: "/.well-known/webfinger") { _ in HTTPResponse(status: 404) }
        #expect(await harness.send("get_issuer", resource).errorCode == "op_error")
        harness.op.override(path: "/.well-known/webfinger") { _ throws(HTTPTransportError) in throw .timedOut("slow") }
        #expect(await harness.send("get_issuer", resource).errorCode == "op_unreachable")
    }

    /// With allowed_op_hosts, register_site, get_discovery and get_issuer refuse other OPs before any request.
    @Test func allowedOPHosts_refusesOtherOPs_beforeAnyRequest() async throws {
        let harness = try Self.restricted(["https://other.example", "idp.example:8443"])
        let register: [String: JSONValue] = [
            "op_host": .string("https://op.example"), "authorization_redirect_uri": .string("https://rp.example/cb"),
        ]
        #expect(await harness.send("register_site", register).errorCode == "op_not_allowed")
        #expect(await harness.send("get_discovery", ["op_host": .string("https://op.example")]).errorCode
            == "op_not_allowed")
        #expect(await harness.send("get_discovery", ["op_host": .string("https://idp.example")]).errorCode
            == "op_not_allowed")
        #expect(await harness.send("get_issuer", ["resource": .string("alice@op.example")]).errorCode
            == "op_not_allowed")
        #expect(harness.op.requests.isEmpty)
    }

    /// An allowed OP works; a WebFinger answer naming an issuer outside the list is op_not_allowed.
    @Test func allowedOPHosts_allowsListedOPs_andChecksTheWebFingerIssuer() async throws {
        let harness = try Self.restricted(["OP.example"])
        #expect(try await harness.registerSite().isEmpty == false)
        harness.op.override(path: "/.well-known/webfinger") { _ in
            FakeOP.json(["links": .array([.object([
                "rel": .string("http://openid.net/specs/connect/1.0/issuer"), "href": .string("https://evil.example"),
            ])])])
        }
        #expect(await harness.send("get_issuer", ["resource": .string("alice@op.example")]).errorCode
            == "op_not_allowed")
    }
}
