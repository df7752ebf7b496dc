import RelydOIDC
import RelydProtocol

/// `remove_site`: deregisters the client at the OP when relyd can (RFC 7592 2.3), then deletes the site with its
/// pending authorizations and token bindings.
///
/// The local deletion happens even when the OP cannot be told: the app asked to forget the site, and a client
/// left behind at the OP is harmless without its secret, which dies with the site. The result says whether the
/// OP confirmed; the reason it did not goes to the log.
public enum RemoveSiteHandler: CommandHandler {
    public typealias Command = RemoveSite
    public static let changesSites = true

    public static func run(_ parameters: SiteParameters, context: CommandContext) async throws -> RemoveSite.Result {
        let site = try await context.storedSite(parameters.oxdID)
        var deregistered = false
        do {
            if let handle = try ClientRegistrationManagement.handle(of: site, http: context.environment.http) {
                try await ClientRegistrationManagement.delete(handle, http: context.environment.http)
                deregistered = true
            }
        } catch let error as RelydError {
            context.logger.warning("the OP could not be told to delete the client; removing the site anyway",
                                   ("site.id", site.id), ("client.id", site.clientID),
                                   ("error.code", error.code.rawValue), ("error.description", error.loggableDescription))
        }
        guard try await context.store.deleteSite(id: site.id) else {
            throw RelydError(.unknownSite, "the site was removed meanwhile")
        }
        context.logger.notice("site removed", ("site.id", site.id), ("client.id", site.clientID),
                              ("op.deregistered", String(deregistered)))
        return RemoveSite.Result(oxdID: site.id, opDeregistered: deregistered)
    }
}
