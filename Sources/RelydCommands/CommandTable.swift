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

    /// The handler named `name`, with its place in `handlers`, where ``CommandStatistics`` keeps its counters: one
    /// lookup per request finds both.
    static func handler(named name: String) -> (handler: any CommandHandler.Type, index: Int)? {
        guard let index = nameIndex.position(of: name) else { return nil }
        return (handlers[index], index)
    }

    private static let nameIndex = CommandNameIndex(handlers.map { $0.commandName })
}

extension CommandHandler {
    public static var commandName: String { Command.name }
    public static var commandSummary: String { Command.summary }
}
