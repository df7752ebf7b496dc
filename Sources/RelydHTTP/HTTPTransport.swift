#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An HTTP request to an OpenID Provider.
public struct HTTPRequest: Sendable, Equatable {
    public enum Method: String, Sendable { case get = "GET", post = "POST", put = "PUT", delete = "DELETE" }

    public var method: Method
    public var url: URL
    /// Header name and value pairs, sent in order. Values may carry credentials: never log them.
    public var headers: [(String, String)]
    public var body: Data?

    public init(method: Method = .get, url: URL, headers: [(String, String)] = [], body: Data? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body
            && lhs.headers.map { "\($0.0):\($0.1)" } == rhs.headers.map { "\($0.0):\($0.1)" }
    }
}

/// An HTTP response. Header names are lower-cased; a repeated header keeps its last value.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Why a request got no HTTP response at all. Messages never contain request bodies or credentials.
public enum HTTPTransportError: Error, Sendable, Equatable {
    /// Name resolution, connection refused, reset, or a TLS handshake or certificate failure.
    case unreachable(String)
    /// The connect or total timeout passed.
    case timedOut(String)
    /// The response body exceeded the configured size cap.
    case responseTooLarge(limit: Int)
    /// The URL's scheme is not allowed (only http and https are).
    case schemeNotAllowed(String)
}

/// Sends HTTP requests. The OIDC engine sees only this protocol; the daemon injects the libcurl transport and
/// tests inject a fake.
///
/// Implementations follow no redirects (a 3xx comes back as a response), cap the response size, and honour the
/// timeouts they were configured with.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse
}
