import RelydBasics
import RelydOIDC
import RelydProtocol

/// `get_client_token`: the client credentials grant, answered from the in-memory cache while the token is fresh.
public enum GetClientTokenHandler: CommandHandler {
    public typealias Command = GetClientToken

    public static func run(_ parameters: GetClientToken.Parameters, context: CommandContext) async throws
        -> GetClientToken.Result
    {
        let environment = context.environment
        let site = try await context.site(parameters.oxdID)
        let scopes = parameters.scope ?? []
        let form = [("grant_type", "client_credentials")]
            + (scopes.isEmpty ? [] : [("scope", try OAuthScope.joined(scopes, parameter: "scope"))])
        let authentication = try ClientAuthentication(site: site)
        let token = try await context.clientTokens.token(siteID: site.id, scopes: scopes) {
            let endpoints = try await ProviderEndpoints.of(site, providers: context.providers, http: environment.http)
            return try await TokenExchange.grant(
                form, authentication: authentication, endpoints: endpoints, environment: environment)
        }
        let remaining = token.expiresAt.map { Int($0.timeIntervalSince(environment.clock.now()).rounded(.down)) }
        return GetClientToken.Result(accessToken: token.accessToken.revealed, tokenType: token.tokenType,
                                     expiresIn: remaining,
                                     expiresAt: token.expiresAt.map { Int64($0.timeIntervalSince1970) },
                                     scope: token.scopes)
    }
}
