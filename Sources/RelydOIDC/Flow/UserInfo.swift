import Foundation
import RelydBasics
import RelydHTTP
import RelydProtocol

/// The userinfo endpoint (OpenID Connect Core 5.3), or a plain OAuth 2.0 provider's user API (GitHub's
/// `https://api.github.com/user`), which answers with a JSON object too but owes no `sub`.
public enum UserInfo {
    /// Fetches the claims for an access token, sent as a Bearer header (RFC 6750 2.1).
    ///
    /// - Parameter expectedSubject: the `sub` of the ID token issued with this access token, when relyd knows it;
    ///   a different `sub` is a token substitution and fails with `userinfo_invalid` (Core 5.3.2).
    /// - Throws: `op_error` when the OP refuses the token (its `WWW-Authenticate` error is quoted),
    ///   `op_response_invalid` for a body that is not a JSON object, or, from an OpenID Connect provider, has no
    ///   string `sub`.
    public static func fetch(accessToken: Secret, expectedSubject: String?, endpoints: ProviderEndpoints,
                             http: ProviderHTTPClient) async throws -> [String: JSONValue] {
        guard let endpoint = endpoints.userinfoEndpoint else {
            throw RelydError(.opUnsupported, "the OP has no userinfo_endpoint")
        }
        let request = HTTPRequest(url: endpoint, headers: [
            ("Authorization", "Bearer " + accessToken.revealed), ("Accept", "application/json"),
        ])
        let response = try await http.send(request)
        guard (200..<300).contains(response.status) else {
            if let error = bearerError(response.header("www-authenticate")) {
                throw RelydError(.opError, "the OP refused the access token (\(error))")
            }
            throw ProviderHTTPClient.failure(for: response, what: "userinfo endpoint")
        }
        let contentType = response.header("content-type")?.lowercased() ?? ""
        if contentType.hasPrefix("application/jwt") {
            throw RelydError(.opResponseInvalid,
                             "the OP returned signed userinfo, which this relyd does not verify yet")
        }
        let claims = try ProviderHTTPClient.parseObject(response.body, what: "userinfo response")
        guard endpoints.issuesIDTokens else { return claims }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else {
            throw RelydError(.opResponseInvalid, "the userinfo response has no 'sub'")
        }
        if let expectedSubject, subject != expectedSubject {
            throw RelydError(.userInfoInvalid, "the userinfo 'sub' differs from the ID token's")
        }
        return claims
    }

    /// The `error` attribute of a Bearer challenge (RFC 6750 3), made safe for a message.
    static func bearerError(_ header: String?) -> String? {
        guard let header, let range = header.range(of: "error=\"") else { return nil }
        let rest = header[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return RelydError.quoting(String(rest[..<end]))
    }
}
