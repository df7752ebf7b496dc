import RelydProtocol

/// `get_discovery`: the OP's discovery document from the provider cache (fetched when not cached or stale).
public enum GetDiscoveryHandler: CommandHandler {
    public typealias Command = GetDiscovery

    public static func run(_ parameters: GetDiscovery.Parameters, context: CommandContext) async throws
        -> GetDiscovery.Result
    {
        let issuer: String
        switch (parameters.opHost, parameters.oxdID) {
        case (let opHost?, nil):
            issuer = opHost
        case (nil, let oxdID?):
            let site = try await context.storedSite(oxdID)
            guard site.providerKind == .openIDConnect else {
                throw RelydError(.invalidParameter, "the site's provider is plain OAuth 2.0 and has no discovery document")
            }
            issuer = site.opHost
        default:
            throw RelydError(.invalidParameter, "give exactly one of 'params.op_host' and 'params.oxd_id'")
        }
        return GetDiscovery.Result(discovery: try await context.providers.metadata(issuer: issuer).document)
    }
}
