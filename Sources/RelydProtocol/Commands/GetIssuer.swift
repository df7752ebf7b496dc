/// `get_issuer`: resolve a user identifier to its OP's issuer with WebFinger (RFC 7033, OIDC Discovery 2).
public enum GetIssuer: CommandDescriptor {
    public static let name = "get_issuer"
    public static let summary = "Find the issuer for an acct:user@host, user@host or https URL by WebFinger."

    public struct Parameters: CommandParameters, Equatable {
        public var resource: String

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case resource
        }

        public init(resource: String) {
            self.resource = resource
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var issuer: String

        public init(issuer: String) {
            self.issuer = issuer
        }
    }
}
