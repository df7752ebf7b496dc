import RelydClient
import RelydProtocol
import Testing

/// relyctl's mapping of the logout commands and the authorization options.
@Suite struct LogoutCommandLineTests {
    /// claims is any JSON object, ui_locales an array, and the logout commands take their parameters.
    @Test func optionsAreTypedFromTheCatalog() throws {
        let authorization = try CommandLineRequest.parse([
            "get-authorization-url", "--oxd-id", "s-1", "--login-hint", "alice", "--ui-locales", "de,en",
            "--claims", #"{"userinfo":{"email":{"essential":true},"name":null}}"#, "--response-mode", "form_post",
        ])
        #expect(authorization.action == .command(name: "get_authorization_url", parameters: [
            "oxd_id": .string("s-1"), "login_hint": .string("alice"),
            "ui_locales": .array([.string("de"), .string("en")]),
            "claims": .object(["userinfo": .object(["email": .object(["essential": .bool(true)]), "name": .null])]),
            "response_mode": .string("form_post"),
        ]))
        let logout = try CommandLineRequest.parse([
            "get-logout-uri", "--oxd-id", "s-1", "--id-token-hint", "eyJ", "--state", "s",
        ])
        #expect(logout.action == .command(name: "get_logout_uri", parameters: [
            "oxd_id": .string("s-1"), "id_token_hint": .string("eyJ"), "state": .string("s"),
        ]))
        #expect(CommandLineRequest.helpText(command: "validate_logout_token").contains("--logout-token"))
    }

    /// A claims value that is not a JSON object is a usage error.
    @Test(arguments: [#"[1]"#, #""x""#, "{", "null"])
    func claimsMustBeAJSONObject(text: String) {
        #expect(throws: (any Error).self) {
            try CommandLineRequest.parse(["get-authorization-url", "--oxd-id", "s-1", "--claims", text])
        }
    }
}
