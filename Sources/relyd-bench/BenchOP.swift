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
/// so an out-of-process client (the Python peer) can log in too. Each request's time in the OP is recorded per
/// path, from the arrival of its first bytes to its response written (the server's parsing, thread hand-offs and
/// writing included, not only the handler), so the OP's share of a login can be subtracted from what the client
/// measured.
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
        server.start(serving: self) { [durations] path, seconds in
            durations.withLock { $0[path, default: []].append(seconds) }
        }
    }

    var issuer: String { server.baseURL }

    func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
        request.url.path == "/authorize" ? browserRedirect(request.url) : try await op.send(request)
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

    /// Times in the OP recorded for `path` since the last ``resetDurations()``, in request order, once there are
    /// `count` of them: a time is recorded just after its response is written, so the client may have it first.
    func durations(of path: String, count: Int) throws -> [Double] {
        let deadline = monotonicSeconds() + 5
        while true {
            let recorded = durations.withLock { $0[path] ?? [] }
            if recorded.count >= count { return recorded }
            guard monotonicSeconds() < deadline else {
                throw BenchError("the OP recorded \(recorded.count) requests to \(path), not \(count)")
            }
            usleep(20)
        }
    }

    func resetDurations() { durations.withLock { $0 = [:] } }

    func stop() { server.stop() }
}
