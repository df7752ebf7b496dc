#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
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
    /// The granted scope; nil when the OP left it out, which RFC 6749 5.1 allows when it equals the requested one.
    public var scope: [String]?

    /// - Throws: `op_response_invalid` when `access_token` or `token_type` is missing or of the wrong type, or
    ///   `expires_in` or `scope` is of the wrong type.
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
        if let value = object["scope"], value != .null, value.stringValue == nil {
            throw RelydError(.opResponseInvalid, "the token response's 'scope' is not a string")
        }
        self.accessToken = Secret(accessToken)
        self.tokenType = tokenType
        self.expiresIn = object["expires_in"]?.int64Value.map { Int(clamping: $0) }
        self.refreshToken = object["refresh_token"]?.stringValue.map(Secret.init)
        self.idToken = object["id_token"]?.stringValue.map(Secret.init)
        self.scope = object["scope"]?.stringValue.map { $0.split(separator: " ").map(String.init) }
    }

    /// When the access token expires, in unix seconds: `expires_in` after `issuedAt`; nil when the OP did not say.
    public func expiresAt(issuedAt: Date) -> Int64? {
        guard let expiresIn else { return nil }
        let (sum, overflow) = Int64(issuedAt.timeIntervalSince1970).addingReportingOverflow(Int64(expiresIn))
        return overflow ? (expiresIn < 0 ? Int64.min : Int64.max) : sum
    }
}

/// The token endpoint.
public enum TokenExchange {
    /// Redeems an authorization code (RFC 6749 4.1.3) with its PKCE verifier (RFC 7636 4.5).
    public static func redeem(code: Secret, pending: PendingAuthorization, authentication: ClientAuthentication,
                              endpoints: ProviderEndpoints, environment: OIDCEnvironment) async throws -> TokenResponse {
        try await grant([
            ("grant_type", "authorization_code"),
            ("code", code.revealed),
            ("redirect_uri", pending.redirectURI),
            ("code_verifier", pending.codeVerifier.revealed),
        ], authentication: authentication, endpoints: endpoints, environment: environment)
    }

    /// Sends a grant (its form parameters) to the token endpoint with the client's authentication.
    ///
    /// A plain OAuth 2.0 provider may answer form-encoded (GitHub's default); an OpenID Connect provider must
    /// answer JSON (Core 3.1.3.3).
    public static func grant(_ parameters: [(String, String)], authentication: ClientAuthentication,
                             endpoints: ProviderEndpoints, environment: OIDCEnvironment) async throws -> TokenResponse {
        let request = try await authenticatedPost(to: endpoints.tokenEndpoint, form: parameters,
                                                  authentication: authentication,
                                                  tokenEndpoint: endpoints.tokenEndpoint, environment: environment)
        let response = try await environment.http.send(request)
        guard (200..<300).contains(response.status) else {
            throw ProviderHTTPClient.failure(for: response, what: "token endpoint")
        }
        let isFormEncoded = response.header("content-type")?.lowercased()
            .hasPrefix("application/x-www-form-urlencoded") == true
        let object = isFormEncoded && !endpoints.issuesIDTokens
            ? try formObject(response.body)
            : try ProviderHTTPClient.parseObject(response.body, what: "token endpoint")
        // Some providers (GitHub) report a refused code with a success status.
        if object["access_token"] == nil, let error = ProviderHTTPClient.oauthError(object) { throw error }
        return try TokenResponse(object)
    }

    /// A form POST carrying the client's credentials: the token, introspection (RFC 7662 2.1) and revocation
    /// (RFC 7009 2.1) endpoints all authenticate the client the same way. A JWT client assertion names the token
    /// endpoint as its audience wherever it is sent (OpenID Connect Core 9).
    public static func authenticatedPost(to url: URL, form parameters: [(String, String)],
                                         authentication: ClientAuthentication, tokenEndpoint: URL,
                                         environment: OIDCEnvironment) async throws -> HTTPRequest {
        var form = parameters
        var headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        try await authentication.apply(headers: &headers, form: &form, tokenEndpoint: tokenEndpoint,
                                       environment: environment)
        return HTTPRequest(method: .post, url: url, headers: headers, body: Data(FormEncoding.encode(form).utf8))
    }

    /// A form-encoded token response as the JSON object it stands for: `expires_in` becomes a number when it is
    /// one, every other member stays a string.
    static func formObject(_ body: Data) throws -> [String: JSONValue] {
        guard let text = String(data: body, encoding: .utf8), let pairs = FormEncoding.decode(text) else {
            throw RelydError(.opResponseInvalid, "the token endpoint's form-encoded response is malformed")
        }
        var object: [String: JSONValue] = [:]
        for (name, value) in pairs {
            object[name] = name == "expires_in" ? Int64(value).map(JSONValue.integer) ?? .string(value) : .string(value)
        }
        return object
    }
}
