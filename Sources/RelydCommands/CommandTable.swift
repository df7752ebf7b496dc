/// Every command the daemon serves, in one list. The dispatcher, `relyctl help` and the protocol reference all read
/// the descriptors this table names; adding a command is one handler file and one line here.
public enum CommandTable {
    public static let handlers: [any CommandHandler.Type] = [
        HealthHandler.self,
        RegisterSiteHandler.self,
        GetAuthorizationURLHandler.self,
        GetTokensByCodeHandler.self,
        GetUserInfoHandler.self,
        UpdateSiteHandler.self,
        RemoveSiteHandler.self,
        GetSiteHandler.self,
        ListSitesHandler.self,
        GetDiscoveryHandler.self,
        GetIssuerHandler.self,
        GetLogoutURIHandler.self,
        ValidateLogoutTokenHandler.self,
        GetAccessTokenByRefreshTokenHandler.self,
        GetClientTokenHandler.self,
        IntrospectAccessTokenHandler.self,
        RevokeTokenHandler.self,
        CheckIDTokenHandler.self,
        GetJWKSHandler.self,
        StatsHandler.self,
    ]

    /// The handlers by wire name, with their place in `handlers`, where ``CommandStatistics`` keeps their counters:
    /// one lookup per request finds both.
    static let byName: [String: (handler: any CommandHandler.Type, index: Int)] = Dictionary(
        handlers.enumerated().map { ($1.commandName, ($1, $0)) }, uniquingKeysWith: { first, _ in first })
}

extension CommandHandler {
    public static var commandName: String { Command.name }
    public static var commandSummary: String { Command.summary }
}
