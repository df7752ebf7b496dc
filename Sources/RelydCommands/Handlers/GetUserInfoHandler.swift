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
        var verifySigned: UserInfo.SignedResponseVerifier?
        if let provider = endpoints.openIDConnect {
            let providers = context.providers
            verifySigned = { @Sendable token in
                try await UserInfo.verifiedClaims(ofSigned: token, site: site, provider: provider, cache: providers)
            }
        }
        let claims = try await UserInfo.fetch(
            accessToken: accessToken, expectedSubject: binding?.siteID == site.id ? binding?.subject : nil,
            endpoints: endpoints, http: environment.http, verifySigned: verifySigned)
        return GetUserInfo.Result(claims: claims)
    }
}
