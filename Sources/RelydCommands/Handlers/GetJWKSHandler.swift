import RelydOIDC
import RelydProtocol

/// `get_jwks`: the site's public JWK Set, made from the stored private key so it always matches what signs.
public enum GetJWKSHandler: CommandHandler {
    public typealias Command = GetJWKS

    public static func run(_ parameters: GetJWKS.Parameters, context: CommandContext) async throws -> GetJWKS.Result {
        let site = try await context.site(parameters.oxdID)
        guard let key = try SiteSigningKey(site: site) else { return GetJWKS.Result(keys: []) }
        return GetJWKS.Result(keys: [key.publicJWK])
    }
}
