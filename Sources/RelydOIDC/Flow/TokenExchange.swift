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
    }
}

/// The token endpoint.
public enum TokenExchange {
    /// Redeems an authorization code (RFC 6749 4.1.3) with its PKCE verifier (RFC 7636 4.5).
    public static func redeem(code: Secret, pending: PendingAuthorization, authentication: ClientAuthentication,
                              provider: ProviderMetadata, environment: OIDCEnvironment) async throws -> TokenResponse {
        var form = [
            ("grant_type", "authorization_code"),
            ("code", code.revealed),
            ("redirect_uri", pending.redirectURI),
            ("code_verifier", pending.codeVerifier.revealed),
        ]
        var headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        try authentication.apply(headers: &headers, form: &form, tokenEndpoint: provider.tokenEndpoint,
                                 environment: environment)
        let request = HTTPRequest(method: .post, url: provider.tokenEndpoint, headers: headers,
                                  body: Data(FormEncoding.encode(form).utf8))
        let (object, _) = try await environment.http.jsonObject(request, what: "token endpoint")
        return try TokenResponse(object)
    }
}
