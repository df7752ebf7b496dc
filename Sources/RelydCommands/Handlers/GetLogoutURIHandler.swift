import RelydOIDC
import RelydProtocol
import RelydStore

/// `get_logout_uri`: the OP's end-session URL for a site; nothing is stored, the OP ends its own session.
public enum GetLogoutURIHandler: CommandHandler {
    public typealias Command = GetLogoutURI

    public static func run(_ parameters: GetLogoutURI.Parameters, context: CommandContext) async throws
        -> GetLogoutURI.Result
    {
        let site = try await context.site(parameters.oxdID)
        guard site.providerKind == .openIDConnect else {
            throw RelydError(.opUnsupported, "a plain OAuth 2.0 provider has no RP-initiated logout")
        }
        let provider = try await context.providers.metadata(issuer: site.opHost)
        let url = try LogoutRequest.url(
            site: site, provider: provider, idTokenHint: parameters.idTokenHint,
            postLogoutRedirectURI: parameters.postLogoutRedirectURI, state: parameters.state,
            uiLocales: parameters.uiLocales)
        return GetLogoutURI.Result(uri: url.absoluteString)
    }
}
