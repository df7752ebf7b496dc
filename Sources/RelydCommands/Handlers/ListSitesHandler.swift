import RelydProtocol

/// `list_sites`: every site's stored metadata, in the store's order (by oxd_id). Never calls the OP.
public enum ListSitesHandler: CommandHandler {
    public typealias Command = ListSites

    public static func run(_ parameters: NoParameters, context: CommandContext) async throws -> ListSites.Result {
        ListSites.Result(sites: try await context.store.allSites().map(SiteMetadata.init))
    }
}
