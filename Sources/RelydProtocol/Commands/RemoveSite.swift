/// `remove_site`: forget a site and, for a dynamically registered one, delete its registration at the OP.
public enum RemoveSite: CommandDescriptor {
    public static let name = "remove_site"
    public static let summary =
        "Delete a site with its pending logins; deregister its client at the OP when relyd registered it (RFC 7592)."
    public typealias Parameters = SiteParameters

    public struct Result: Codable, Sendable, Equatable {
        public var oxdID: String
        /// True when the OP confirmed the deletion of the client (or no longer knew it); false when the site was
        /// pre-registered, the OP offers no registration management, or the OP could not be told (see the log).
        public var opDeregistered: Bool

        enum CodingKeys: String, CodingKey {
            case oxdID = "oxd_id"
            case opDeregistered = "op_deregistered"
        }

        public init(oxdID: String, opDeregistered: Bool) {
            self.oxdID = oxdID
            self.opDeregistered = opDeregistered
        }
    }
}
