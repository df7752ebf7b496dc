import Foundation
import RelydBasics
import RelydCrypto
import RelydHTTP
import RelydOIDC
import RelydProtocol
import RelydTestSupport

/// The FakeOP served over loopback HTTP with asymmetric keys, timing its own work.
///
/// It adds what a browser needs to the FakeOP: `GET /authorize` answers 302 to the redirect URI with a code,
/// so an out-of-process client (the Python peer) can log in too. Each request's handler time is recorded per
/// path, so the OP's share of a login can be subtracted from what the client measured.
final class BenchOP: HTTPTransport, @unchecked Sendable {
    let op: FakeOP
    let server: LoopbackHTTPServer
    let keys: [OPSigningKey]
    private let durations = Locked<[String: [Double]]>([:])

    /// An OP whose ID tokens are signed with `keys[0]` and whose JWKS publishes every key.
    init(keys: [OPSigningKey]) throws {
        self.keys = keys
        server = try LoopbackHTTPServer()
        op = FakeOP(issuer: server.baseURL)
        let algorithms = keys.map { JSONValue.string($0.algorithm.rawValue) }
        op.discoveryEdits = { $0["id_token_signing_alg_values_supported"] = .array(algorithms) }
        op.signingKey = keys[0]
        op.publishedKeys = keys.compactMap(\.publicJWK)
        server.start(serving: self)
    }

    var issuer: String { server.baseURL }

    func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
        let started = monotonicSeconds()
        let response: HTTPResponse
        if request.url.path == "/authorize" {
            response = browserRedirect(request.url)
        } else {
            response = try await op.send(request)
        }
        let elapsed = monotonicSeconds() - started
        durations.withLock { $0[request.url.path, default: []].append(elapsed) }
        return response
    }

    private func browserRedirect(_ url: URL) -> HTTPResponse {
        guard let code = try? op.authorize(url.absoluteString),
              let components = URLComponents(url: url, resolvingAgainstBaseURL: false),
              let query = components.queryItems,
              let redirect = query.first(where: { $0.name == "redirect_uri" })?.value,
              let state = query.first(where: { $0.name == "state" })?.value,
              var location = URLComponents(string: redirect)
        else { return HTTPResponse(status: 400) }
        location.queryItems = [URLQueryItem(name: "code", value: code), URLQueryItem(name: "state", value: state)]
        return HTTPResponse(status: 302, headers: ["location": location.string ?? redirect])
    }

    /// Handler times recorded for `path` since the last ``resetDurations()``, in request order.
    func durations(of path: String) -> [Double] { durations.withLock { $0[path] ?? [] } }

    func resetDurations() { durations.withLock { $0 = [:] } }

    func stop() { server.stop() }
}
