import Foundation
import RelydBasics
import RelydCrypto
import RelydHTTP
import RelydOIDC
import RelydProtocol
import RelydTestSupport

/// One signing key of the bench OP, with its public JWK.
struct BenchSigningKey: @unchecked Sendable {
    let algorithm: JWSAlgorithm
    let keyID: String
    let jwk: [String: JSONValue]
    /// Signs a JWS signing input (the header and payload parts with their dot).
    let sign: @Sendable ([UInt8]) throws -> [UInt8]

    /// The compact JWS of `claims` under this key.
    func token(_ claims: [String: JSONValue]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header: JSONValue = .object(["alg": .string(algorithm.rawValue), "kid": .string(keyID),
                                         "typ": .string("JWT")])
        let signingInput = Base64URL.encode(Array(try encoder.encode(header))) + "."
            + Base64URL.encode(Array(try encoder.encode(JSONValue.object(claims))))
        return signingInput + "." + Base64URL.encode(try sign(Array(signingInput.utf8)))
    }

    static func generated(_ algorithm: JWSAlgorithm, scratch: String) throws -> BenchSigningKey {
        switch algorithm {
        case .rs256, .es256:
            // A site key of relyd's own is exactly an OP key of these kinds: its JWK, and its PEM to sign with.
            let siteKey = try SiteSigningKey.generate(algorithmNamed: algorithm.rawValue)
            let privateKey = try PrivateKey(pem: siteKey.pem())
            let scheme: SignatureScheme = algorithm == .rs256 ? .rsaPKCS1v15(.sha256) : .ecdsa(.sha256)
            return BenchSigningKey(algorithm: algorithm, keyID: siteKey.keyID, jwk: siteKey.publicJWK) { input in
                try privateKey.sign(input, scheme: scheme)
            }
        default:
            return try ed25519(scratch: scratch)
        }
    }

    /// relyd's crypto layer signs only with the key types its clients use, so the bench's Ed25519 OP key comes from
    /// the openssl CLI; the bench signs few EdDSA tokens, none on a measured path.
    private static func ed25519(scratch: String) throws -> BenchSigningKey {
        let keyPath = scratch + "/ed25519.pem"
        try runCommand("openssl", ["genpkey", "-algorithm", "ed25519", "-out", keyPath], scratch: scratch)
        let publicDER = scratch + "/ed25519.pub.der"
        try runCommand("openssl", ["pkey", "-in", keyPath, "-pubout", "-outform", "DER", "-out", publicDER],
                       scratch: scratch)
        // The SubjectPublicKeyInfo of an Ed25519 key ends with the 32 raw public key bytes.
        let x = Array(try Data(contentsOf: URL(fileURLWithPath: publicDER)).suffix(32))
        let jwk: [String: JSONValue] = ["kid": .string("EdDSA"), "use": .string("sig"), "alg": .string("EdDSA"),
                                        "kty": .string("OKP"), "crv": .string("Ed25519"),
                                        "x": .string(Base64URL.encode(x))]
        return BenchSigningKey(algorithm: .edDSA, keyID: "EdDSA", jwk: jwk) { input in
            let inputPath = scratch + "/ed25519.in"
            let signaturePath = scratch + "/ed25519.sig"
            try Data(input).write(to: URL(fileURLWithPath: inputPath))
            try runCommand("openssl", ["pkeyutl", "-sign", "-rawin", "-inkey", keyPath, "-in", inputPath,
                                       "-out", signaturePath], scratch: scratch)
            return Array(try Data(contentsOf: URL(fileURLWithPath: signaturePath)))
        }
    }
}

/// The FakeOP served over loopback HTTP with asymmetric keys, timing its own work.
///
/// It adds what a browser needs to the FakeOP: `GET /authorize` answers 302 to the redirect URI with a code,
/// so an out-of-process client (the Python peer) can log in too. Each request's handler time is recorded per
/// path, so the OP's share of a login can be subtracted from what the client measured.
final class BenchOP: HTTPTransport, @unchecked Sendable {
    let op: FakeOP
    let server: LoopbackHTTPServer
    let keys: [BenchSigningKey]
    private let durations = Locked<[String: [Double]]>([:])

    /// An OP whose ID tokens are signed with `keys[0]` and whose JWKS publishes every key.
    init(keys: [BenchSigningKey]) throws {
        self.keys = keys
        server = try LoopbackHTTPServer()
        op = FakeOP(issuer: server.baseURL)
        let algorithms = keys.map { JSONValue.string($0.algorithm.rawValue) }
        op.discoveryEdits = { $0["id_token_signing_alg_values_supported"] = .array(algorithms) }
        let signer = keys[0]
        op.idTokenSigner = { claims in try signer.token(claims) }
        let jwks = FakeOP.json(["keys": .array(keys.map { .object($0.jwk) })])
        op.override(path: "/jwks") { _ in jwks }
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
