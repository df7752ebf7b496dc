import RelydOIDC
import RelydProtocol

/// `get_authorization_url`: a fresh authorization request whose secrets stay in the store until the code comes
/// back.
public enum GetAuthorizationURLHandler: CommandHandler {
    public typealias Command = GetAuthorizationURL

    public static func run(_ parameters: GetAuthorizationURL.Parameters, context: CommandContext) async throws
        -> GetAuthorizationURL.Result
    {
        let site = try await context.site(parameters.oxdID)
        let endpoints = try await ProviderEndpoints.of(site, providers: context.providers,
                                                       http: context.environment.http)
        let request = try AuthorizationRequest(
            site: site, endpoints: endpoints, scopes: parameters.scope ?? site.scopes, acrValues: parameters.acrValues,
            prompt: parameters.prompt, maxAge: parameters.maxAge, loginHint: parameters.loginHint,
            uiLocales: parameters.uiLocales, claims: parameters.claims, responseMode: parameters.responseMode,
            customParameters: parameters.customParameters ?? [:], environment: context.environment)
        try await context.store.insertPendingAuthorization(request.pending)
        return GetAuthorizationURL.Result(authorizationURL: request.url.absoluteString,
                                          state: request.pending.state.revealed)
    }
}
