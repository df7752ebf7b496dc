#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydHTTP
import RelydProtocol

/// Every HTTP exchange with an OpenID Provider goes through here, so that URL policy, error mapping and JSON
/// parsing of OP answers exist once.
///
/// Error mapping: no answer → `op_unreachable`; an OAuth error body (RFC 6749 5.2) or another HTTP error status →
/// `op_error`; a body that is not the JSON object the specifications require, a redirect, or an oversized body →
/// `op_response_invalid`.
public struct ProviderHTTPClient: Sendable {
    public let transport: any HTTPTransport
    public let allowHTTPLoopback: Bool

    public init(transport: any HTTPTransport, allowHTTPLoopback: Bool) {
        self.transport = transport
        self.allowHTTPLoopback = allowHTTPLoopback
    }

    /// Parses and checks a URL that relyd will call: absolute, https (or http on a loopback address when allowed),
    /// no fragment, no user info.
    ///
    /// - Parameter field: what the URL is, for the error message (`op_host`, `token_endpoint`).
    /// - Parameter code: the code to throw: `invalid_parameter` for a client's input, `op_response_invalid` for a
    ///   URL found in an OP's document.
    public func endpointURL(_ string: String, field: String, code: ErrorCode) throws -> URL {
        guard let components = URLComponents(string: string), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty, let url = components.url
        else {
            throw RelydError(code, "'\(field)' is not an absolute URL")
        }
        guard components.fragment == nil, components.user == nil, components.password == nil else {
            throw RelydError(code, "'\(field)' must not carry a fragment or user info")
        }
        switch scheme {
        case "https":
            return url
        case "http" where allowHTTPLoopback && Self.isLoopback(host):
            return url
        case "http":
            throw RelydError(code, allowHTTPLoopback
                ? "'\(field)' must use https (http is allowed only for loopback hosts)"
                : "'\(field)' must use https (set allow_http_loopback for a local test OP)")
        default:
            throw RelydError(code, "'\(field)' must use https")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingScalars(in: "[]").lowercased()
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }

    /// Sends a request and maps transport failures; the response may still be an HTTP error.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            return try await transport.send(request)
        } catch {
            switch error {
            case .unreachable(let reason):
                throw RelydError(.opUnreachable, "\(request.url.host ?? "the OP") could not be reached: \(reason)")
            case .timedOut:
                throw RelydError(.opUnreachable, "\(request.url.host ?? "the OP") did not answer in time")
            case .responseTooLarge(let limit):
                throw RelydError(.opResponseInvalid, "the OP's response exceeds \(limit) bytes")
            case .schemeNotAllowed(let scheme):
                throw RelydError(.opResponseInvalid, "scheme '\(scheme)' is not allowed")
            }
        }
    }

    /// Sends a request and returns its body as a JSON object, requiring a 2xx status.
    ///
    /// - Parameter what: what the document is, for messages (`discovery document`, `token response`).
    public func jsonObject(_ request: HTTPRequest, what: String) async throws -> (object: [String: JSONValue], response: HTTPResponse) {
        let response = try await send(request)
        guard (200..<300).contains(response.status) else {
            throw Self.failure(for: response, what: what)
        }
        return (try Self.parseObject(response.body, what: what), response)
    }

    /// The error for a non-2xx answer: the OP's OAuth error when it sent one, otherwise its status.
    public static func failure(for response: HTTPResponse, what: String) -> RelydError {
        if (300..<400).contains(response.status) {
            return RelydError(.opResponseInvalid, "the \(what) answered with a redirect (HTTP \(response.status)), which relyd does not follow")
        }
        if let object = try? parseObject(response.body, what: what), let error = oauthError(object) {
            return error
        }
        return RelydError(.opError, "the \(what) answered HTTP \(response.status)")
    }

    /// `op_error` quoting the OAuth error (RFC 6749 5.2) an OP's answer carries, if it carries one.
    public static func oauthError(_ object: [String: JSONValue]) -> RelydError? {
        guard let code = object["error"]?.stringValue else { return nil }
        let detail = object["error_description"]?.stringValue.map { ": \(RelydError.quoting($0))" } ?? ""
        return RelydError(.opError, "the OP refused the request (\(RelydError.quoting(code))\(detail))")
    }

    /// A JSON object from a body, or `op_response_invalid`.
    public static func parseObject(_ body: Data, what: String) throws -> [String: JSONValue] {
        guard let value = try? JSONParser.parse(Array(body)) else {
            throw RelydError(.opResponseInvalid, "the \(what) is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw RelydError(.opResponseInvalid, "the \(what) is not a JSON object")
        }
        return object
    }

}

/// `application/x-www-form-urlencoded` encoding with the strict RFC 3986 unreserved set, as OAuth requires
/// (RFC 6749 appendix B).
public enum FormEncoding {
    /// Every byte of the value's UTF-8 but the RFC 3986 unreserved characters, as `%XX` (upper-case hex).
    ///
    /// Written over UTF-8 bytes with a table rather than with `addingPercentEncoding`: Foundation's goes through
    /// CFString, and a login encodes a dozen values (its authorization URL and its token request).
    public static func escape(_ value: String) -> String {
        var value = value
        guard value.withUTF8({ bytes in bytes.contains { !unreserved[Int($0)] } }) else { return value }
        return value.withUTF8 { bytes in
            var escaped: [UInt8] = []
            escaped.reserveCapacity(bytes.count * 3)
            for byte in bytes {
                if unreserved[Int(byte)] {
                    escaped.append(byte)
                } else {
                    escaped += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
                }
            }
            return String(decoding: escaped, as: UTF8.self)
        }
    }

    /// Whether each byte value is an RFC 3986 unreserved character.
    private static let unreserved: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    /// `endpoint` with `pairs` added to its query, keeping any query it already has (an OP may publish an endpoint
    /// such as `https://op/logout?tenant=a`). Nil only when the result is not a URL.
    public static func url(_ endpoint: URL, appending pairs: [(String, String)]) -> URL? {
        let base = endpoint.absoluteString
        guard !pairs.isEmpty else { return endpoint }
        let separator = base.hasSuffix("?") || base.hasSuffix("&") ? "" : base.contains("?") ? "&" : "?"
        return URL(string: base + separator + encode(pairs))
    }

    /// The pairs of a form-encoded body, `+` read as a space; nil when a pair's percent-encoding is malformed.
    public static func decode(_ text: String) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decoded = parts.map(formDecoded)
            guard let name = decoded[0], let value = decoded.count > 1 ? decoded[1] : "" else { return nil }
            pairs.append((name, value))
        }
        return pairs
    }

    /// `+` as a space and `%XX` sequences as the bytes they stand for; nil when one is malformed or the result is not
    /// UTF-8, as Foundation's `removingPercentEncoding` (not in FoundationEssentials) answered.
    private static func formDecoded(_ text: Substring) -> String? {
        func hexValue(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        let encoded = Array(text.utf8)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(encoded.count)
        var index = 0
        while index < encoded.count {
            guard encoded[index] == UInt8(ascii: "%") else {
                decoded.append(encoded[index] == UInt8(ascii: "+") ? UInt8(ascii: " ") : encoded[index])
                index += 1
                continue
            }
            guard index + 2 < encoded.count, let high = hexValue(encoded[index + 1]),
                  let low = hexValue(encoded[index + 2]) else { return nil }
            decoded.append(high << 4 | low)
            index += 3
        }
        return String(validating: decoded, as: UTF8.self)
    }
}
