import RelydBasics
import RelydOIDC
import RelydProtocol

/// `revoke_token`: revocation at the OP (RFC 7009), as the site's client. A revoked token also leaves the
/// client-token cache, so `get_client_token` never hands it out again.
public enum RevokeTokenHandler: CommandHandler {
    public typealias Command = RevokeToken

    public static func run(_ parameters: RevokeToken.Parameters, context: CommandContext) async throws
        -> RevokeToken.Result
    {
        let token = try Secret(nonEmptyParameter: parameters.token, named: "token")
        let site = try await context.site(parameters.oxdID)
        let provider = try await context.providers.metadata(issuer: site.opHost)
        try await TokenIntrospection.revoke(
            token, hint: parameters.tokenTypeHint, authentication: try ClientAuthentication(site: site),
            provider: provider, environment: context.environment)
        await context.clientTokens.forget(accessToken: token)
        context.logger.info("token revoked", ("site.id", site.id))
        return RevokeToken.Result(revoked: true)
    }
}
