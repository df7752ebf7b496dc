import Foundation
import RelydProtocol
import RelydTestSupport

/// A registered site with one completed login, and the fake token service installed behind its OP.
struct TokenCommandsFixture {
    let harness = DispatcherHarness()
    let service: FakeTokenService
    let oxdID: String
    /// The `get_tokens_by_code` result of the login.
    let login: [String: JSONValue]

    init(advertiseEndpoints: Bool = true) async throws {
        service = FakeTokenService(op: harness.op, clock: harness.clock)
        if !advertiseEndpoints { harness.op.discoveryEdits = nil }
        oxdID = try await harness.registerSite()
        let (code, state) = try await harness.login(oxdID: oxdID)
        let response = await harness.send(
            "get_tokens_by_code", ["oxd_id": .string(oxdID), "code": .string(code), "state": .string(state)])
        guard response.isOK, let site = try await harness.store.site(id: oxdID),
              let secret = site.clientSecret, let refreshToken = response.data["refresh_token"]?.stringValue,
              let accessToken = response.data["access_token"]?.stringValue
        else { throw FakeOPError("login failed: \(response.raw)") }
        login = response.data
        service.install(clientID: site.clientID, secret: secret.revealed)
        service.addRefreshToken(refreshToken, subject: "alice")
        service.addAccessToken(accessToken, subject: "alice")
    }

    var refreshToken: String { login["refresh_token"]?.stringValue ?? "" }
    var accessToken: String { login["access_token"]?.stringValue ?? "" }
    var idToken: String { login["id_token"]?.stringValue ?? "" }

    /// Sends `command` for the fixture's site with `params`.
    func send(_ command: String, _ params: [String: JSONValue] = [:]) async -> DispatcherHarness.Response {
        var all = params
        all["oxd_id"] = all["oxd_id"] ?? .string(oxdID)
        return await harness.send(command, all)
    }

    func refresh(_ token: String, scope: [String]? = nil) async -> DispatcherHarness.Response {
        var params: [String: JSONValue] = ["refresh_token": .string(token)]
        if let scope { params["scope"] = .array(scope.map(JSONValue.string)) }
        return await send("get_access_token_by_refresh_token", params)
    }

    /// The form of the last request to `path`.
    func lastForm(_ path: String) -> String {
        String(decoding: harness.op.requests(to: path).last?.body ?? Data(), as: UTF8.self)
    }
}
