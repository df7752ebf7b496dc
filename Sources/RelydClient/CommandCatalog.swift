import RelydProtocol

/// The commands this library knows, with the wire type of each parameter: the one table `relyctl` reads to turn
/// `--name value` into typed JSON and to print its help.
///
/// Names and summaries come from the descriptors in RelydProtocol. The parameter kinds and requiredness are
/// written here by hand (the descriptors' Codable types cannot be asked for them); a test checks that every
/// descriptor's `parameterNames` equals the names listed here, so the table cannot drift silently.
public enum CommandCatalog {
    /// How a parameter is written on the wire.
    public enum Kind: String, Sendable, Equatable {
        /// A JSON string.
        case string
        /// A JSON array of strings; on the command line repeated or comma-separated.
        case strings = "array of strings"
        /// A JSON integer.
        case integer
        /// A JSON object of string values; on the command line written as that JSON object.
        case object = "object of strings"
        /// Any JSON object (the `claims` request parameter); on the command line written as that JSON object.
        case jsonObject = "JSON object"
    }

    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var kind: Kind
        public var isRequired: Bool
    }

    public struct Command: Sendable {
        public var name: String
        public var summary: String
        public var parameters: [Parameter]
        /// The descriptor's own list of accepted names, for the consistency test.
        public var declaredParameterNames: Set<String>

        public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }
    }

    public static let commands: [Command] = [
        entry(RegisterSite.self, [
            ("op_host", .string, true),
            ("authorization_redirect_uri", .string, true),
            ("post_logout_redirect_uri", .string, false),
            ("scope", .strings, false),
            ("client_name", .string, false),
            ("grant_types", .strings, false),
            ("response_types", .strings, false),
            ("token_endpoint_auth_method", .string, false),
            ("id_token_signed_response_alg", .string, false),
            ("client_id", .string, false),
            ("client_secret", .string, false),
            ("authorization_endpoint", .string, false),
            ("token_endpoint", .string, false),
            ("userinfo_endpoint", .string, false),
            ("signing_alg", .string, false),
        ]),
        entry(GetAuthorizationURL.self, [
            ("oxd_id", .string, true),
            ("scope", .strings, false),
            ("acr_values", .strings, false),
            ("prompt", .string, false),
            ("max_age", .integer, false),
            ("login_hint", .string, false),
            ("ui_locales", .strings, false),
            ("claims", .jsonObject, false),
            ("response_mode", .string, false),
            ("custom_parameters", .object, false),
        ]),
        entry(GetTokensByCode.self, [
            ("oxd_id", .string, true),
            ("code", .string, true),
            ("state", .string, true),
            ("iss", .string, false),
        ]),
        entry(GetUserInfo.self, [
            ("oxd_id", .string, true),
            ("access_token", .string, true),
        ]),
        entry(Health.self, []),
        entry(UpdateSite.self, [
            ("oxd_id", .string, true),
            ("authorization_redirect_uri", .string, false),
            ("post_logout_redirect_uri", .string, false),
            ("scope", .strings, false),
            ("client_name", .string, false),
            ("grant_types", .strings, false),
            ("response_types", .strings, false),
            ("id_token_signed_response_alg", .string, false),
        ]),
        entry(RemoveSite.self, [("oxd_id", .string, true)]),
        entry(GetSite.self, [("oxd_id", .string, true)]),
        entry(ListSites.self, []),
        entry(GetDiscovery.self, [
            ("op_host", .string, false),
            ("oxd_id", .string, false),
        ]),
        entry(GetIssuer.self, [("resource", .string, true)]),
        entry(GetLogoutURI.self, [
            ("oxd_id", .string, true),
            ("id_token_hint", .string, false),
            ("post_logout_redirect_uri", .string, false),
            ("state", .string, false),
            ("ui_locales", .strings, false),
        ]),
        entry(ValidateLogoutToken.self, [
            ("oxd_id", .string, true),
            ("logout_token", .string, true),
        ]),
        entry(GetAccessTokenByRefreshToken.self, [
            ("oxd_id", .string, true),
            ("refresh_token", .string, true),
            ("scope", .strings, false),
        ]),
        entry(GetClientToken.self, [
            ("oxd_id", .string, true),
            ("scope", .strings, false),
        ]),
        entry(IntrospectAccessToken.self, [
            ("oxd_id", .string, true),
            ("token", .string, true),
            ("token_type_hint", .string, false),
        ]),
        entry(RevokeToken.self, [
            ("oxd_id", .string, true),
            ("token", .string, true),
            ("token_type_hint", .string, false),
        ]),
        entry(CheckIDToken.self, [
            ("oxd_id", .string, true),
            ("id_token", .string, true),
            ("nonce", .string, false),
            ("access_token", .string, false),
        ]),
        entry(GetJWKS.self, [
            ("oxd_id", .string, true),
        ]),
        entry(Stats.self, []),
    ]

    public static func command(named name: String) -> Command? { commands.first { $0.name == name } }

    private static func entry<C: CommandDescriptor>(_ descriptor: C.Type,
                                                    _ parameters: [(String, Kind, Bool)]) -> Command {
        Command(name: C.name, summary: C.summary,
                parameters: parameters.map { Parameter(name: $0.0, kind: $0.1, isRequired: $0.2) },
                declaredParameterNames: C.Parameters.parameterNames)
    }
}
