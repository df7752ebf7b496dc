/// `list_sites`: every site's stored metadata, without secrets.
public enum ListSites: CommandDescriptor {
    public static let name = "list_sites"
    public static let summary = "Return the stored metadata of every site, sorted by oxd_id."
    public typealias Parameters = NoParameters

    public struct Result: Codable, Sendable, Equatable {
        public var sites: [SiteMetadata]

        public init(sites: [SiteMetadata]) {
            self.sites = sites
        }
    }
}
