/// `validate_logout_token`: check a back-channel logout token the OP posted to the app (Back-Channel Logout 1.0).
public enum ValidateLogoutToken: CommandDescriptor {
    public static let name = "validate_logout_token"
    public static let summary =
        "Validate a back-channel logout token (signature, iss, aud, iat, events, no nonce, unused jti); returns sub and/or sid."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        /// The `logout_token` form parameter of the OP's POST to the app's back-channel logout URI.
        public var logoutToken: String

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case logoutToken = "logout_token"
        }

        public init(oxdID: String, logoutToken: String) {
            self.oxdID = oxdID
            self.logoutToken = logoutToken
        }
    }

    /// Whose sessions to end: every session of `sub`, or the one session `sid`, or the session `sid` of `sub`.
    public struct Result: Codable, Sendable, Equatable {
        public var sub: String?
        public var sid: String?
        public var iss: String
        public var jti: String

        public init(sub: String?, sid: String?, iss: String, jti: String) {
            self.sub = sub
            self.sid = sid
            self.iss = iss
            self.jti = jti
        }
    }
}
