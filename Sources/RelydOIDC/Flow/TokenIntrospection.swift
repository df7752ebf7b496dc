#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydHTTP
import RelydProtocol

/// Token introspection (RFC 7662) and revocation (RFC 7009), both authenticated as the site's client.
public enum TokenIntrospection {
    /// The `token_type_hint` values relyd passes on (RFC 7009 2.1; the same registry serves RFC 7662).
    public static let tokenTypeHints: Set<String> = ["access_token", "refresh_token"]

    /// The OP's introspection response, every member as sent.
    ///
    /// - Throws: `op_unsupported` when the OP has no `introspection_endpoint`, `op_error` when it refuses, `op_response_invalid` when the
    ///   answer lacks the boolean `active` RFC 7662 2.2 requires.
    public static func introspect(_ token: Secret, hint: String?, authentication: ClientAuthentication,
                                  provider: ProviderMetadata, environment: OIDCEnvironment) async throws
        -> [String: JSONValue]
    {
        let form = try form(token, hint: hint)
        guard let endpoint = provider.introspectionEndpoint else {
            throw RelydError(.opUnsupported, "the OP offers no token introspection (no introspection_endpoint)")
        }
        let request = try await TokenExchange.authenticatedPost(
            to: endpoint, form: form, authentication: authentication, tokenEndpoint: provider.tokenEndpoint,
            environment: environment)
        let (answer, _) = try await environment.http.jsonObject(request, what: "introspection response")
        guard case .bool = answer["active"] else {
            throw RelydError(.opResponseInvalid, "the introspection response has no boolean 'active'")
        }
        return answer
    }

    /// Asks the OP to revoke a token. RFC 7009 2.2: HTTP 200 means done, also for a token the OP does not know.
    ///
    /// - Throws: `op_unsupported` when the OP has no `revocation_endpoint`, `op_error` when it refuses (for example
    ///   `unsupported_token_type`).
    public static func revoke(_ token: Secret, hint: String?, authentication: ClientAuthentication,
                              provider: ProviderMetadata, environment: OIDCEnvironment) async throws {
        let form = try form(token, hint: hint)
        guard let endpoint = provider.revocationEndpoint else {
            throw RelydError(.opUnsupported, "the OP offers no token revocation (no revocation_endpoint)")
        }
        let request = try await TokenExchange.authenticatedPost(
            to: endpoint, form: form, authentication: authentication, tokenEndpoint: provider.tokenEndpoint,
            environment: environment)
        let response = try await environment.http.send(request)
        guard response.status == 200 else {
            throw ProviderHTTPClient.failure(for: response, what: "revocation endpoint")
        }
    }

    private static func form(_ token: Secret, hint: String?) throws -> [(String, String)] {
        var form = [("token", token.revealed)]
        if let hint {
            guard tokenTypeHints.contains(hint) else {
                throw RelydError(.invalidParameter, "'params.token_type_hint' must be access_token or refresh_token")
            }
            form.append(("token_type_hint", hint))
        }
        return form
    }
}
