#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydHTTP
import RelydProtocol
import RelydStore

/// The userinfo endpoint (OpenID Connect Core 5.3), or a plain OAuth 2.0 provider's user API (GitHub's
/// `https://api.github.com/user`), which answers with a JSON object too but owes no `sub`.
public enum UserInfo {
    /// Checks a signed userinfo response (`application/jwt`, Core 5.3.2) and returns its claims.
    public typealias SignedResponseVerifier = @Sendable (String) async throws -> [String: JSONValue]

    /// Fetches the claims for an access token, sent as a Bearer header (RFC 6750 2.1).
    ///
    /// An OpenID Connect OP that answers 401 with no Bearer `error` saw no token at all (RFC 6750 3.1): it does not
    /// read the header field, so the token is sent once more as the form-encoded body parameter (RFC 6750 2.2). An
    /// OP that read the token and refused it names an error, and gets no second try; so does a plain OAuth 2.0
    /// provider's user API, which is a GET-only REST resource (GitHub's `/user`).
    ///
    /// - Parameter expectedSubject: the `sub` of the ID token issued with this access token, when relyd knows it;
    ///   a different `sub` is a token substitution and fails with `userinfo_invalid` (Core 5.3.2).
    /// - Parameter verifySigned: checks a signed (`application/jwt`) response; nil for a provider without keys,
    ///   whose signed responses are refused.
    /// - Throws: `op_error` when the OP refuses the token (its `WWW-Authenticate` error is quoted),
    ///   `op_response_invalid` for a body that is not a JSON object, or, from an OpenID Connect provider, has no
    ///   string `sub`; the errors of `verifySigned`.
    public static func fetch(accessToken: Secret, expectedSubject: String?, endpoints: ProviderEndpoints,
                             http: ProviderHTTPClient,
                             verifySigned: SignedResponseVerifier?) async throws -> [String: JSONValue] {
        guard let endpoint = endpoints.userinfoEndpoint else {
            throw RelydError(.opUnsupported, "the OP has no userinfo_endpoint")
        }
        let accept = ("Accept", "application/json, application/jwt")
        var response = try await http.send(HTTPRequest(url: endpoint, headers: [
            ("Authorization", "Bearer " + accessToken.revealed), accept,
        ]))
        if response.status == 401, endpoints.issuesIDTokens, bearerError(response.header("www-authenticate")) == nil {
            response = try await http.send(HTTPRequest(
                method: .post, url: endpoint,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), accept],
                body: Data(FormEncoding.encode([("access_token", accessToken.revealed)]).utf8)))
        }
        guard (200..<300).contains(response.status) else {
            if let error = bearerError(response.header("www-authenticate")) {
                throw RelydError(.opError, "the OP refused the access token (\(error))")
            }
            throw ProviderHTTPClient.failure(for: response, what: "userinfo endpoint")
        }
        let contentType = response.header("content-type")?.lowercased() ?? ""
        let claims: [String: JSONValue]
        if contentType.hasPrefix("application/jwt") {
            guard let verifySigned else {
                throw RelydError(.opResponseInvalid, "the provider returned signed userinfo but publishes no keys")
            }
            claims = try await verifySigned(String(decoding: response.body, as: UTF8.self)
                .trimmingWhitespaceAndNewlines())
        } else {
            claims = try ProviderHTTPClient.parseObject(response.body, what: "userinfo response")
        }
        guard endpoints.issuesIDTokens else { return claims }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else {
            throw RelydError(.opResponseInvalid, "the userinfo response has no 'sub'")
        }
        if let expectedSubject, subject != expectedSubject {
            throw RelydError(.userInfoInvalid, "the userinfo 'sub' differs from the ID token's")
        }
        return claims
    }

    /// The claims of a signed userinfo response (Core 5.3.2), checked as an ID token's signature is: an algorithm
    /// the site accepts for ID tokens, a key from the OP's JWKS (with the same unknown-kid refetch) or, for HS*, the
    /// client secret. `iss` and `aud`, which the OP SHOULD include, must be the issuer and contain the client id
    /// when present.
    ///
    /// - Throws: `userinfo_invalid` naming the failed check, or the cache's errors when the keys cannot be fetched.
    public static func verifiedClaims(ofSigned token: String, site: Site, provider: ProviderMetadata,
                                      cache: ProviderCache) async throws -> [String: JSONValue] {
        let algorithms = IDTokenVerification.allowedAlgorithms(site: site, provider: provider)
        do {
            return try await IDTokenVerification.withProviderKeys(provider: provider, cache: cache) {
                keys throws(IDTokenFailure) in
                let jws = try SignedJWT.parse(token)
                try SignedJWT.verifySignature(jws, allowedAlgorithms: algorithms,
                                              clientSecret: site.clientSecret?.revealed, keys: keys)
                if jws.payload["iss"] != nil { _ = try SignedJWT.issuer(jws.payload, expected: provider.issuer) }
                if jws.payload["aud"] != nil { _ = try SignedJWT.audience(jws.payload, clientID: site.clientID) }
                return jws.payload
            }
        } catch let failure as IDTokenFailure {
            throw RelydError(.userInfoInvalid,
                             "signed userinfo check '\(failure.check.rawValue)' failed: \(failure.message)")
        }
    }

    /// The `error` attribute of a Bearer challenge (RFC 6750 3), made safe for a message.
    static func bearerError(_ header: String?) -> String? {
        guard let header, let range = header.utf8.firstRange(of: "error=\"".utf8) else { return nil }
        let rest = header[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return RelydError.quoting(String(rest[..<end]))
    }
}
