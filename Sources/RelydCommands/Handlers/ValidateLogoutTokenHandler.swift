import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydStore

/// `validate_logout_token`: the app hands over the OP's back-channel logout token and learns whose sessions to end.
public enum ValidateLogoutTokenHandler: CommandHandler {
    public typealias Command = ValidateLogoutToken

    public static func run(_ parameters: ValidateLogoutToken.Parameters, context: CommandContext) async throws
        -> ValidateLogoutToken.Result
    {
        let site = try await context.site(parameters.oxdID)
        guard site.providerKind == .openIDConnect else {
            throw RelydError(.opUnsupported, "a plain OAuth 2.0 provider has no back-channel logout tokens")
        }
        let provider = try await context.providers.metadata(issuer: site.opHost)
        let token = try await LogoutTokenVerification.validate(
            Secret(parameters.logoutToken), site: site, provider: provider, cache: context.providers,
            replays: context.logoutTokenReplays, environment: context.environment)
        context.logger.info("logout token accepted", ("site.id", site.id), ("user.sub", token.subject ?? "-"))
        return ValidateLogoutToken.Result(sub: token.subject, sid: token.sessionID, iss: token.issuer,
                                          jti: token.tokenID)
    }
}
