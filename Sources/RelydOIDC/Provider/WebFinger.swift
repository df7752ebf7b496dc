#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydHTTP
import RelydProtocol

/// Issuer discovery by WebFinger (RFC 7033; OpenID Connect Discovery 1.0, section 2).
public enum WebFinger {
    static let issuerRelation = "http://openid.net/specs/connect/1.0/issuer"

    /// The issuer that `resource`'s host names for it.
    ///
    /// - Parameter resource: `acct:user@host`, `user@host` (normalized to `acct:`, Discovery 2.1) or an
    ///   `https` URL (its fragment dropped).
    /// - Throws: `invalid_parameter` for another form or an unacceptable host; `op_not_allowed` when the host or
    ///   the answered issuer is outside `allowed_op_hosts`; `op_response_invalid` when the answer names no
    ///   acceptable issuer; the errors of ``ProviderHTTPClient``.
    public static func issuer(for resource: String, environment: OIDCEnvironment) async throws -> String {
        let http = environment.http
        let (normalized, authority) = try normalize(resource, allowHTTPLoopback: http.allowHTTPLoopback)
        let percentEncodedQuery = FormEncoding.encode([("resource", normalized), ("rel", issuerRelation)])
        let url = try http.endpointURL(authority + "/.well-known/webfinger?" + percentEncodedQuery,
                                       field: "resource", code: .invalidParameter)
        guard environment.settings.allowedOPHosts.allows(host: url) else {
            throw RelydError(.opNotAllowed, "the host of 'resource' is not in allowed_op_hosts")
        }
        let (answer, _) = try await http.jsonObject(
            HTTPRequest(url: url, headers: [("Accept", "application/jrd+json, application/json")]),
            what: "WebFinger response")
        let links = answer["links"]?.arrayValue ?? []
        guard let href = links.lazy.compactMap(\.objectValue)
            .first(where: { $0["rel"]?.stringValue == issuerRelation })?["href"]?.stringValue
        else {
            throw RelydError(.opResponseInvalid, "the WebFinger response has no issuer link")
        }
        let issuerURL = try http.endpointURL(href, field: "issuer link", code: .opResponseInvalid)
        guard issuerURL.query == nil else {
            throw RelydError(.opResponseInvalid, "the WebFinger issuer link has a query")
        }
        try environment.settings.allowedOPHosts.check(issuer: href)
        return href
    }

    /// The resource to ask for and the `scheme://host[:port]` to ask: https, except http for an account on a
    /// loopback host when `allowHTTPLoopback` is set (a local test OP, like loopback issuers).
    static func normalize(_ resource: String,
                          allowHTTPLoopback: Bool) throws -> (resource: String, authority: String) {
        let invalid = RelydError(.invalidParameter,
                                 "'params.resource' must be acct:user@host, user@host or an https URL")
        let isAccount = resource.lowercased().hasPrefix("acct:")
        if !isAccount && resource.contains("://") {
            guard var components = URLComponents(string: resource), let scheme = components.scheme?.lowercased(),
                  let host = components.host, !host.isEmpty
            else { throw invalid }
            components.fragment = nil
            let port = components.port.map { ":\($0)" } ?? ""
            return (components.string ?? resource, "\(scheme)://\(Self.bracketed(host))\(port)")
        }
        let account = isAccount ? String(resource.dropFirst(5)) : resource
        guard let at = account.lastIndex(of: "@"), at != account.startIndex else { throw invalid }
        let host = account[account.index(after: at)...]
        guard !host.isEmpty, !host.contains("/"), !host.contains("?"), !host.contains("#") else { throw invalid }
        let isLoopback = URLComponents(string: "https://\(host)")?.host.map(ProviderHTTPClient.isLoopback) ?? false
        return ("acct:" + account, (allowHTTPLoopback && isLoopback ? "http://" : "https://") + host)
    }

    private static func bracketed(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}
