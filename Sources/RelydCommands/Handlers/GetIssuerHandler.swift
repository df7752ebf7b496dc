import RelydOIDC
import RelydProtocol

/// `get_issuer`: WebFinger issuer discovery for a user identifier.
public enum GetIssuerHandler: CommandHandler {
    public typealias Command = GetIssuer

    public static func run(_ parameters: GetIssuer.Parameters, context: CommandContext) async throws
        -> GetIssuer.Result
    {
        GetIssuer.Result(issuer: try await WebFinger.issuer(for: parameters.resource, environment: context.environment))
    }
}
