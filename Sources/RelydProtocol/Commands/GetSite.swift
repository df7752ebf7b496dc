/// `get_site` (oxD `get_rp`): a site's stored metadata, without its secrets.
public enum GetSite: CommandDescriptor {
    public static let name = "get_site"
    public static let summary = "Return a site's stored metadata (never its secret or registration access token)."
    public typealias Parameters = SiteParameters
    public typealias Result = SiteMetadata
}
