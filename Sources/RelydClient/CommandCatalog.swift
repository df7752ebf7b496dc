import RelydProtocol

/// The commands this library knows, with the wire type of each parameter: the one table `relyctl` reads to turn
/// `--name value` into typed JSON and to print its help.
///
/// Everything comes from the descriptors in RelydProtocol: names and summaries as declared, parameter kinds and
/// requiredness from their `Parameters` types (``ParameterProbe``).
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
        entry(RegisterSite.self),
        entry(GetAuthorizationURL.self),
        entry(GetTokensByCode.self),
        entry(GetUserInfo.self),
        entry(Health.self),
        entry(UpdateSite.self),
        entry(RemoveSite.self),
        entry(GetSite.self),
        entry(ListSites.self),
        entry(GetDiscovery.self),
        entry(GetIssuer.self),
        entry(GetLogoutURI.self),
        entry(ValidateLogoutToken.self),
        entry(GetAccessTokenByRefreshToken.self),
        entry(GetClientToken.self),
        entry(IntrospectAccessToken.self),
        entry(RevokeToken.self),
        entry(CheckIDToken.self),
        entry(GetJWKS.self),
        entry(Stats.self),
    ]

    public static func command(named name: String) -> Command? { commands.first { $0.name == name } }

    private static func entry<C: CommandDescriptor>(_ descriptor: C.Type) -> Command {
        Command(name: C.name, summary: C.summary, parameters: ParameterProbe.parameters(of: C.Parameters.self),
                declaredParameterNames: C.Parameters.parameterNames)
    }
}
