import RelydBasics
import RelydOIDC
import RelydProtocol

/// `get_user_info`: the userinfo claims, with the `sub` checked against the ID token when relyd issued the
/// access token. A plain OAuth 2.0 site gets its configured user endpoint's JSON object as it is.
public enum GetUserInfoHandler: CommandHandler {
    public typealias Command = GetUserInfo

    public static func run(_ parameters: GetUserInfo.Parameters, context: CommandContext) async throws
        -> GetUserInfo.Result
    {
        let environment = context.environment
        let site = try await context.site(parameters.oxdID)
        let endpoints = try await ProviderEndpoints.of(site, providers: context.providers, http: environment.http)
        let accessToken = Secret(parameters.accessToken)
        let binding = try await context.store.tokenBinding(
            accessTokenHash: try AccessTokenHash.of(accessToken), now: environment.clock.now())
        let claims = try await UserInfo.fetch(
            accessToken: accessToken, expectedSubject: binding?.siteID == site.id ? binding?.subject : nil,
            endpoints: endpoints, http: environment.http)
        return GetUserInfo.Result(claims: claims)
    }
}
