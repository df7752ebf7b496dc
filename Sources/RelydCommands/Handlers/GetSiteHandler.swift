import RelydProtocol

/// `get_site`: the stored metadata. Reads the store only, so it answers even when the OP is down.
public enum GetSiteHandler: CommandHandler {
    public typealias Command = GetSite

    public static func run(_ parameters: SiteParameters, context: CommandContext) async throws -> SiteMetadata {
        SiteMetadata(try await context.storedSite(parameters.oxdID))
    }
}
