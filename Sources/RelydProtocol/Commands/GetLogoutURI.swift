/// `get_logout_uri`: where to send the user's browser to log out at the OP (RP-Initiated Logout 1.0).
public enum GetLogoutURI: CommandDescriptor {
    public static let name = "get_logout_uri"
    public static let summary =
        "Build the OP's RP-initiated logout URL (end_session_endpoint) with id_token_hint, post-logout redirect and state."

    public struct Parameters: CommandParameters, Equatable {
        public var oxdID: String
        /// The ID token the user logged in with, so the OP knows whose session to end.
        public var idTokenHint: String?
        /// Must be the site's registered post-logout redirect URI; when absent the site's is used if it has one.
        public var postLogoutRedirectURI: String?
        /// Returned by the OP to the post-logout redirect URI, for the app's own bookkeeping.
        public var state: String?
        public var uiLocales: [String]?

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case oxdID = "oxd_id"
            case idTokenHint = "id_token_hint"
            case postLogoutRedirectURI = "post_logout_redirect_uri"
            case state
            case uiLocales = "ui_locales"
        }

        public init(oxdID: String, idTokenHint: String? = nil, postLogoutRedirectURI: String? = nil,
                    state: String? = nil, uiLocales: [String]? = nil) {
            self.oxdID = oxdID
            self.idTokenHint = idTokenHint
            self.postLogoutRedirectURI = postLogoutRedirectURI
            self.state = state
            self.uiLocales = uiLocales
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var uri: String

        public init(uri: String) {
            self.uri = uri
        }
    }
}
