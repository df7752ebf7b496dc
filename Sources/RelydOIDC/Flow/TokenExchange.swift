import Foundation
import RelydBasics
import RelydHTTP
import RelydProtocol
import RelydStore

/// A successful token response (RFC 6749 5.1, OpenID Connect Core 3.1.3.3), checked for what relyd needs.
public struct TokenResponse: Sendable {
    public var accessToken: Secret
    public var tokenType: String
    public var expiresIn: Int?
    public var refreshToken: Secret?
    public var idToken: Secret?
    /// The granted scopes, space-separated; absent when they are the requested ones (RFC 6749 5.1).
    public var scope: String?

    /// - Throws: `op_response_invalid` when `access_token` or `token_type` is missing or of the wrong type.
    public init(_ object: [String: JSONValue]) throws {
        guard let accessToken = object["access_token"]?.stringValue, !accessToken.isEmpty else {
            throw RelydError(.opResponseInvalid, "the token response has no 'access_token'")
        }
        guard let tokenType = object["token_type"]?.stringValue, !tokenType.isEmpty else {
            throw RelydError(.opResponseInvalid, "the token response has no 'token_type'")
        }
        if let value = object["expires_in"], value != .null, value.int64Value == nil {
            throw RelydError(.opResponseInvalid, "the token response's 'expires_in' is not a number")
        }
        self.accessToken = Secret(accessToken)
        self.tokenType = tokenType
        self.expiresIn = object["expires_in"]?.int64Value.map { Int(clamping: $0) }
        self.refreshToken = object["refresh_token"]?.stringValue.map(Secret.init)
        self.idToken = object["id_token"]?.stringValue.map(Secret.init)
        self.scope = object["scope"]?.stringValue
    }
}

/// The token endpoint.
public enum TokenExchange {
    /// Redeems an authorization code (RFC 6749 4.1.3) with its PKCE verifier (RFC 7636 4.5).
    public static func redeem(code: Secret, pending: PendingAuthorization, authentication: ClientAuthentication,
                              provider: ProviderMetadata, http: ProviderHTTPClient) async throws -> TokenResponse {
        try await grant([
            ("grant_type", "authorization_code"),
            ("code", code.revealed),
            ("redirect_uri", pending.redirectURI),
            ("code_verifier", pending.codeVerifier.revealed),
        ], authentication: authentication, provider: provider, http: http)
    }

    /// Sends a grant (its form parameters) to the token endpoint with the client's authentication.
    public static func grant(_ parameters: [(String, String)], authentication: ClientAuthentication,
                             provider: ProviderMetadata, http: ProviderHTTPClient) async throws -> TokenResponse {
        let request = authenticatedPost(to: provider.tokenEndpoint, form: parameters, authentication: authentication)
        let (object, _) = try await http.jsonObject(request, what: "token endpoint")
        return try TokenResponse(object)
    }

    /// A form POST carrying the client's credentials: the token, introspection (RFC 7662 2.1) and revocation
    /// (RFC 7009 2.1) endpoints all authenticate the client the same way.
    public static func authenticatedPost(to url: URL, form parameters: [(String, String)],
                                         authentication: ClientAuthentication) -> HTTPRequest {
        var form = parameters
        var headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        authentication.apply(headers: &headers, form: &form)
        return HTTPRequest(method: .post, url: url, headers: headers, body: Data(FormEncoding.encode(form).utf8))
    }
}
