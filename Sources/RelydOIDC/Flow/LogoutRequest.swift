#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydProtocol
import RelydStore

/// An RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0, section 2): the URL of the OP's
/// `end_session_endpoint` the app sends the user's browser to.
public enum LogoutRequest {
    /// The logout URL for `site`.
    ///
    /// - Parameter postLogoutRedirectURI: must equal the site's registered one exactly (the OP would refuse any
    ///   other, and relyd must not become an open redirector); when nil the site's is used if it has one.
    /// - Throws: `op_unsupported` when the OP publishes no `end_session_endpoint`; `invalid_parameter` for a post-
    ///   logout redirect URI that is not the site's.
    public static func url(site: Site, provider: ProviderMetadata, idTokenHint: String?,
                           postLogoutRedirectURI: String?, state: String?, uiLocales: [String]?) throws -> URL {
        guard let endpoint = provider.endSessionEndpoint else {
            throw RelydError(.opUnsupported, "the OP publishes no end_session_endpoint (RP-initiated logout)")
        }
        if let postLogoutRedirectURI, postLogoutRedirectURI != site.postLogoutRedirectURI {
            throw RelydError(.invalidParameter,
                             "'params.post_logout_redirect_uri' is not the site's registered post-logout redirect URI")
        }
        var query: [(String, String)] = []
        if let idTokenHint { query.append(("id_token_hint", idTokenHint)) }
        if let redirect = postLogoutRedirectURI ?? site.postLogoutRedirectURI {
            query.append(("post_logout_redirect_uri", redirect))
        }
        if let state { query.append(("state", state)) }
        query.append(("client_id", site.clientID))
        if let uiLocales, !uiLocales.isEmpty { query.append(("ui_locales", uiLocales.joined(separator: " "))) }
        guard let url = FormEncoding.url(endpoint, appending: query) else {
            throw RelydError(.invalidParameter, "the logout URL could not be built")
        }
        return url
    }
}
