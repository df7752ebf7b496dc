/// `health`: is the daemon up, and which version is it.
public enum Health: CommandDescriptor {
    public static let name = "health"
    public static let summary = "Report that the daemon is serving, its version and uptime."
    public typealias Parameters = NoParameters

    public struct Result: Codable, Sendable, Equatable {
        public var status: String
        public var version: String
        public var uptimeSeconds: Int

        enum CodingKeys: String, CodingKey {
            case status, version
            case uptimeSeconds = "uptime_seconds"
        }

        public init(status: String, version: String, uptimeSeconds: Int) {
            self.status = status
            self.version = version
            self.uptimeSeconds = uptimeSeconds
        }
    }
}

extension Health.Result: JSONObjectWritable {
    public func writeMembers(to object: inout JSONObjectWriter) {
        object.member("status", status)
        object.member("uptime_seconds", uptimeSeconds)
        object.member("version", version)
    }
}
