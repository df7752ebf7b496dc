import Foundation
import RelydClient
import RelydHTTP
import RelydOIDC
import RelydProtocol
import RelydTestSupport
import Testing

/// The OpenID RP certification cases and hostile-OP checks, one suite per area. Serialized: they share the machine's
/// two cores with the OPs they start in process, and a starved loopback OP would look like a hung one to relyd.
@Suite(.serialized) enum Conformance {}

/// One real relyd for a whole suite of conformance cases: each case brings its own loopback OP and site, so the
/// cases of a suite share the daemon without sharing anything else, and may run in parallel.
struct SharedRelyd: SuiteTrait, TestScoping {
    /// Configuration lines added to the daemon's (loopback http is always allowed).
    var extraConfig: String

    @TaskLocal static var current: RelydDaemon?

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let config = "allow_http_loopback = true\n" + extraConfig
        let daemon = try await Self.offThePool { try RelydDaemon(in: directory.url, extraConfig: config) }
        defer {
            daemon.kill9()
            withExtendedLifetime(directory) {}
        }
        try await Self.$current.withValue(daemon) { try await function() }
    }

    /// Runs blocking work (starting a process and polling its socket) on a thread of its own: the cooperative pool
    /// has one thread per core, and timing-sensitive tests run beside these.
    private static func offThePool<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws
        -> Value
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }
}

extension Trait where Self == SharedRelyd {
    /// A relyd shared by the suite's cases, with `extraConfig` lines.
    static func sharedRelyd(_ extraConfig: String = "") -> Self { SharedRelyd(extraConfig: extraConfig) }
}

/// The misbehaving test OP of one conformance case: a ``FakeOP`` served over real HTTP on 127.0.0.1 to the suite's
/// relyd, with a client connected to that relyd. Tests tell the OP how to misbehave through ``fake``.
final class ConformanceOP: @unchecked Sendable {
    static let redirectURI = "http://127.0.0.1:8765/callback"
    static let postLogoutRedirectURI = "http://127.0.0.1:8765/logged-out"

    let server: LoopbackHTTPServer
    let fake: FakeOP
    let client: RelydClient
    let daemon: RelydDaemon

    var issuer: String { fake.issuer }

    /// - Parameter signing: the key ID tokens are signed with, published in the JWKS and advertised in discovery;
    ///   nil keeps FakeOP's HS256 with the client secret.
    init(signing key: OPSigningKey? = nil) throws {
        guard let daemon = SharedRelyd.current else { throw IntegrationError("no relyd: add .sharedRelyd() to the suite") }
        self.daemon = daemon
        server = try LoopbackHTTPServer()
        fake = FakeOP(issuer: server.baseURL)
        client = RelydClient(socketPath: daemon.socketPath, timeout: .seconds(30))
        if let key { use(key) }
        server.start(serving: fake)
    }

    deinit {
        client.close()
        server.stop()
    }

    /// Signs ID tokens with `key`, publishes it (when it has a public key) and advertises its algorithm.
    func use(_ key: OPSigningKey, alsoPublishing others: [OPSigningKey] = []) {
        fake.signingKey = key
        fake.publishedKeys = ([key] + others).compactMap(\.publicJWK)
        let algorithm = key.algorithm.rawValue
        fake.discoveryEdits = { $0["id_token_signing_alg_values_supported"] = .array([.string(algorithm)]) }
    }

    /// Registers a site dynamically (unless `clientID` is given) and returns its oxd_id.
    func registerSite(idTokenSignedResponseAlg: String? = nil, tokenEndpointAuthMethod: String? = nil,
                      scope: [String]? = nil, clientID: String? = nil, clientSecret: String? = nil) async throws -> String {
        try await client.registerSite(
            opHost: issuer, authorizationRedirectURI: Self.redirectURI,
            postLogoutRedirectURI: Self.postLogoutRedirectURI, scope: scope,
            tokenEndpointAuthMethod: tokenEndpointAuthMethod, idTokenSignedResponseAlg: idTokenSignedResponseAlg,
            clientID: clientID, clientSecret: clientSecret).oxdID
    }

    /// get_authorization_url, then the user's login at the OP (played in process): the code and state to redeem.
    func login(oxdID: String, responseMode: String? = nil,
               authorize: ((String) throws -> String)? = nil) async throws -> (code: String, state: String) {
        let authorization = try await client.authorizationURL(oxdID: oxdID, responseMode: responseMode)
        let code = try (authorize ?? { try self.fake.authorize($0) })(authorization.authorizationURL)
        return (code, authorization.state)
    }

    /// A whole login: get_authorization_url, the user's login, get_tokens_by_code.
    func codeFlow(oxdID: String) async throws -> GetTokensByCode.Result {
        let (code, state) = try await login(oxdID: oxdID)
        return try await client.tokensByCode(oxdID: oxdID, code: code, state: state)
    }

    /// Registers a site and logs in; returns the site and the tokens.
    func registerAndLogIn(idTokenSignedResponseAlg: String? = nil) async throws
        -> (oxdID: String, tokens: GetTokensByCode.Result)
    {
        let oxdID = try await registerSite(idTokenSignedResponseAlg: idTokenSignedResponseAlg)
        return (oxdID, try await codeFlow(oxdID: oxdID))
    }

    /// The error code `operation` fails with, nil when it succeeds; then checks the daemon still serves.
    func errorCode(_ operation: () async throws -> Void) async throws -> String? {
        var code: String?
        do {
            try await operation()
        } catch let error as RelydClientError {
            code = error.code
        }
        #expect(try await client.health().status == "ok", "the daemon stopped serving")
        return code
    }

    /// The error code a login fails with at get_tokens_by_code.
    func codeFlowError(idTokenSignedResponseAlg: String? = nil) async throws -> String? {
        let oxdID = try await registerSite(idTokenSignedResponseAlg: idTokenSignedResponseAlg)
        return try await errorCode { _ = try await codeFlow(oxdID: oxdID) }
    }
}

extension String {
    /// The compact JWS with its signature's last characters changed, so that it no longer verifies.
    var withBrokenSignature: String {
        guard let dot = lastIndex(of: ".") else { return self }
        let signature = self[index(after: dot)...]
        let replacement = signature.hasPrefix("A") ? "B" : "A"
        return String(self[...dot]) + replacement + signature.dropFirst()
    }
}
