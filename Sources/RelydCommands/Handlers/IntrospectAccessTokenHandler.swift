import RelydBasics
import RelydOIDC
import RelydProtocol

/// `introspect_access_token`: the OP's introspection answer for a token (RFC 7662), as the site's client.
public enum IntrospectAccessTokenHandler: CommandHandler {
    public typealias Command = IntrospectAccessToken

    public static func run(_ parameters: IntrospectAccessToken.Parameters, context: CommandContext) async throws
        -> IntrospectAccessToken.Result
    {
        let token = try Secret(nonEmptyParameter: parameters.token, named: "token")
        let site = try await context.site(parameters.oxdID)
        let provider = try await context.providers.metadata(issuer: site.opHost)
        let members = try await TokenIntrospection.introspect(
            token, hint: parameters.tokenTypeHint, authentication: try ClientAuthentication(site: site),
            provider: provider, environment: context.environment)
        return IntrospectAccessToken.Result(members: members)
    }
}
