import RelydBasics
import RelydOIDC
import RelydProtocol

/// `check_id_token`: the code flow's ID token validation for a token the app holds; the nonce is checked only
/// when the app gives one, `at_hash` only when it gives the access token.
public enum CheckIDTokenHandler: CommandHandler {
    public typealias Command = CheckIDToken

    public static func run(_ parameters: CheckIDToken.Parameters, context: CommandContext) async throws
        -> CheckIDToken.Result
    {
        let site = try await context.site(parameters.oxdID)
        let provider = try await context.providers.metadata(issuer: site.opHost)
        var expectations = IDTokenVerification.expectations(
            site: site, provider: provider, pending: nil, authentication: try ClientAuthentication(site: site),
            accessToken: parameters.accessToken.map(Secret.init), fromTokenEndpoint: false,
            environment: context.environment)
        expectations.nonce = parameters.nonce
        let validated = try await IDTokenVerification.validate(
            Secret(parameters.idToken), site: site, provider: provider, cache: context.providers,
            expectations: expectations)
        return CheckIDToken.Result(valid: true, claims: validated.claims)
    }
}
