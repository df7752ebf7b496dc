import Foundation
import RelydClient
import RelydProtocol
import Testing

/// Everything the real relyd writes during a full login flow at debug level, against Glewlwyd, holds no secret.
@Suite(.serialized) struct LogCaptureTests {
    /// Reads `columns` of the first row of `table` from relyd's SQLite store (Python's sqlite3 module: the test
    /// target links no SQLite), as strings; a NULL is absent.
    func storedValues(_ daemon: RelydDaemon, table: String, columns: [String]) throws -> [String: String] {
        let database = daemon.directory.appendingPathComponent("state/relyd.sqlite3").path
        let script = """
            import json, sqlite3, sys
            connection = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
            row = connection.execute("SELECT \(columns.joined(separator: ", ")) FROM \(table) LIMIT 1").fetchone()
            print(json.dumps({name: value for name, value in zip(sys.argv[2:], row or []) if value is not None}))
            """
        let output = try run("python3", ["-c", script, database] + columns)
        return try JSONDecoder().decode([String: String].self, from: Data(output.utf8))
    }

    /// register_site, get_authorization_url, the user's login, get_tokens_by_code, get_user_info and a refresh,
    /// with relyd at debug level: its whole output names none of the client secret, registration access token,
    /// code, state, nonce, PKCE verifier, access, refresh or ID token, or the user's password.
    @Test func fullLoginFlowAtDebugLevel_logsNoSecret() async throws {
        let stack = try EndToEndStack(.glewlwyd)
        let client = RelydClient(socketPath: stack.daemon.socketPath)
        defer { client.close() }
        var secrets: [String: String] = ["password": stack.op.fixture.password]

        let site = try await client.send(RegisterSite.self, .init(
            opHost: stack.op.fixture.issuer, authorizationRedirectURI: stack.op.fixture.redirectURI,
            scope: ["openid", "profile", "email", "offline_access"], clientName: "relyd-log-it",
            grantTypes: ["authorization_code", "refresh_token"]))
        let registration = try storedValues(stack.daemon, table: "sites",
                                            columns: ["client_secret", "registration_access_token"])
        secrets["client_secret"] = try #require(registration["client_secret"])
        secrets["registration_access_token"] = registration["registration_access_token"]

        let authorization = try await client.send(GetAuthorizationURL.self, .init(oxdID: site.oxdID))
        let pending = try storedValues(stack.daemon, table: "pending_authorizations",
                                       columns: ["state", "nonce", "code_verifier"])
        secrets["state"] = authorization.state
        secrets["nonce"] = try #require(pending["nonce"])
        secrets["code_verifier"] = try #require(pending["code_verifier"])

        let redirect = try stack.op.login(authorization.authorizationURL)
        let code = try #require(redirect["code"], "login produced no code: \(redirect)")
        secrets["code"] = code
        let tokens = try await client.send(GetTokensByCode.self, .init(
            oxdID: site.oxdID, code: code, state: authorization.state, iss: redirect["iss"]))
        secrets["access_token"] = tokens.accessToken
        secrets["id_token"] = try #require(tokens.idToken)
        let refreshToken = try #require(tokens.refreshToken, "Glewlwyd issued no refresh token")
        secrets["refresh_token"] = refreshToken
        _ = try await client.userInfo(oxdID: site.oxdID, accessToken: tokens.accessToken)
        let refreshed = try await client.accessTokenByRefreshToken(oxdID: site.oxdID, refreshToken: refreshToken)
        secrets["refreshed_access_token"] = refreshed.accessToken
        secrets["refreshed_refresh_token"] = refreshed.refreshToken
        #expect(stack.daemon.terminate() == 0)

        let log = stack.daemon.log
        // The capture is real: the flow's debug events are in it.
        #expect(log.contains("<7>"), "\(log)")
        #expect(log.contains(site.oxdID))
        for (name, value) in secrets where !value.isEmpty {
            #expect(!log.contains(value), "the log contains the \(name)")
            // A JWT's signature, or the tail of any long secret, logged on its own.
            if value.count >= 32 { #expect(!log.contains(String(value.suffix(24))), "the log contains part of the \(name)") }
        }
    }
}
