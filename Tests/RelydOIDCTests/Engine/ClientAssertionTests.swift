import Foundation
import RelydBasics
import RelydCrypto
@testable import RelydOIDC
import RelydProtocol
import RelydStore
import RelydTestSupport
import Testing

/// JWT client assertions (RFC 7523, OpenID Connect Core 9): shape, claims, and verification by an independent
/// implementation (Fixtures/verify_jws.py, pyca/cryptography).
@Suite struct ClientAssertionTests {
    let clock = FakeClock()
    let tokenEndpoint = URL(string: "https://op.example/token")!
    let secret = Secret("a-client-secret-of-thirty-two-bytes!")

    var environment: OIDCEnvironment {
        OIDCEnvironment(settings: OIDCSettings(), transport: FakeOP(), clock: clock, random: SequentialRandom(),
                        logger: Logger(sink: CollectingLogSink(), minimumLevel: .debug))
    }

    /// The form and headers `authentication` produces for one token request.
    func applied(_ authentication: ClientAuthentication) async throws
        -> (form: [String: String], headers: [(String, String)])
    {
        var headers: [(String, String)] = []
        var form: [(String, String)] = [("grant_type", "authorization_code")]
        try await authentication.apply(headers: &headers, form: &form, tokenEndpoint: tokenEndpoint,
                                       environment: environment)
        return (Dictionary(form, uniquingKeysWith: { first, _ in first }), headers)
    }

    /// Runs the independent verifier; returns its JSON output, or nil when it refuses the JWS. Python runs while
    /// this test waits off the cooperative pool (see ``offPool(_:)``).
    static func independentlyVerified(_ arguments: [String]) async throws -> [String: JSONValue]? {
        try await offPool { try runVerifier(arguments) }
    }

    private static func runVerifier(_ arguments: [String]) throws -> [String: JSONValue]? {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/verify_jws.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return try JSONParser.parseObject(Array(data))
    }

    static func jsonText(_ object: [String: JSONValue]) throws -> String {
        String(decoding: try JSONEncoder().encode(JSONValue.object(object)), as: UTF8.self)
    }

    /// client_secret_jwt sends an HS256 assertion with RFC 7523 claims and never the secret itself.
    @Test func clientSecretJWT_sendsAssertionWithRFC7523Claims_andNoSecret() async throws {
        let (form, headers) = try await applied(.clientSecretJWT(clientID: "rp-1", secret: secret))
        #expect(headers.isEmpty)
        #expect(form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        #expect(form["client_secret"] == nil && form["client_id"] == "rp-1")
        let assertion = try #require(form["client_assertion"])
        #expect(!assertion.contains(secret.revealed))
        let jws = try JWS(compact: assertion)
        #expect(jws.header == JWSHeader(algorithm: .hs256, keyID: nil, type: "JWT"))
        let now = Int64(clock.now().timeIntervalSince1970)
        #expect(jws.payload["iss"] == .string("rp-1"))
        #expect(jws.payload["sub"] == .string("rp-1"))
        #expect(jws.payload["aud"] == .string("https://op.example/token"))
        #expect(jws.payload["iat"] == .integer(now))
        #expect(jws.payload["exp"] == .integer(now + 60))
        let jti = try #require(jws.payload["jti"]?.stringValue.flatMap(Base64URL.decode))
        #expect(jti.count >= 16)
        #expect(try hmac(.sha256, key: Array(secret.revealed.utf8), data: jws.signingInput) == jws.signature)
    }

    /// Every assertion carries a fresh jti, so an OP's replay cache never refuses the next request.
    @Test func assertions_haveDistinctJTIs() async throws {
        let authentication = ClientAuthentication.clientSecretJWT(clientID: "rp-1", secret: secret)
        var headers: [(String, String)] = []
        var first: [(String, String)] = [], second: [(String, String)] = []
        let environment = self.environment
        try await authentication.apply(headers: &headers, form: &first, tokenEndpoint: tokenEndpoint,
                                       environment: environment)
        try await authentication.apply(headers: &headers, form: &second, tokenEndpoint: tokenEndpoint,
                                       environment: environment)
        let jtis = try [first, second].map { form in
            try JWS(compact: try #require(form.first { $0.0 == "client_assertion" }?.1)).payload["jti"]
        }
        #expect(jtis[0] != jtis[1])
    }

    /// An HS256 assertion verifies with pyca/cryptography under the client secret, and not under another.
    @Test func clientSecretJWT_verifiesIndependently() async throws {
        let form = try await applied(.clientSecretJWT(clientID: "rp-1", secret: secret)).form
        let assertion = try #require(form["client_assertion"])
        let verified = try #require(try await Self.independentlyVerified(["--hmac", secret.revealed, assertion]))
        #expect(verified["payload"]?.objectValue?["sub"] == .string("rp-1"))
        #expect(try await Self.independentlyVerified(["--hmac", "another-secret", assertion]) == nil)
    }

    /// RS256 and ES256 private_key_jwt assertions verify with pyca/cryptography under the site's public JWK,
    /// whose kid is its RFC 7638 thumbprint; a tampered assertion is refused.
    @Test(arguments: ["RS256", "ES256"])
    func privateKeyJWT_verifiesIndependently(algorithm: String) async throws {
        let key = try SiteSigningKey.generate(algorithmNamed: algorithm)
        let (form, headers) = try await applied(.privateKeyJWT(clientID: "rp-2", key: key))
        #expect(headers.isEmpty && form["client_secret"] == nil)
        let assertion = try #require(form["client_assertion"])
        let jws = try JWS(compact: assertion)
        #expect(jws.header.algorithm.rawValue == algorithm)
        #expect(jws.header.keyID == key.keyID)
        #expect(jws.payload["aud"] == .string("https://op.example/token"))
        let jwk = try Self.jsonText(key.publicJWK)
        let verified = try #require(try await Self.independentlyVerified([jwk, assertion]))
        #expect(verified["payload"]?.objectValue?["iss"] == .string("rp-2"))
        #expect(verified["thumbprint"] == .string(key.keyID))
        var parts = assertion.split(separator: ".").map(String.init)
        parts[1] = Base64URL.encode(Array(#"{"iss":"rp-evil"}"#.utf8))
        #expect(try await Self.independentlyVerified([jwk, parts.joined(separator: ".")]) == nil)
    }

    /// The public JWK has exactly the RFC 7517/7518 public members, no private ones.
    @Test func publicJWK_hasOnlyPublicMembers() throws {
        let rsa = try SiteSigningKey.generate(algorithmNamed: "RS256").publicJWK
        #expect(Set(rsa.keys) == ["kty", "n", "e", "kid", "use", "alg"])
        #expect(rsa["kty"] == .string("RSA") && rsa["use"] == .string("sig") && rsa["alg"] == .string("RS256"))
        #expect(rsa["n"]?.stringValue.flatMap(Base64URL.decode)?.count == 256)
        let ec = try SiteSigningKey.generate(algorithmNamed: "ES256").publicJWK
        #expect(Set(ec.keys) == ["kty", "crv", "x", "y", "kid", "use", "alg"])
        #expect(ec["crv"] == .string("P-256") && ec["alg"] == .string("ES256"))
        #expect(ec["x"]?.stringValue.flatMap(Base64URL.decode)?.count == 32)
    }

    /// Only RS256 and ES256 keys are generated; anything else is invalid_parameter.
    @Test(arguments: ["HS256", "PS256", "EdDSA", "none", "rs256"])
    func unsupportedSigningAlgorithm_isInvalidParameter(algorithm: String) {
        let error = #expect(throws: RelydError.self) { try SiteSigningKey.generate(algorithmNamed: algorithm) }
        #expect(error?.code == .invalidParameter)
    }

    /// A stored key comes back as the same key; a stored key that is damaged or mislabelled is internal_error.
    @Test func storedKey_roundTrips_andDamageIsInternalError() throws {
        let key = try SiteSigningKey.generate(algorithmNamed: "ES256")
        var site = Site(id: "s", opHost: "https://op.example", clientID: "c", clientSecret: nil,
                        clientSecretExpiresAt: nil, registrationAccessToken: nil, registrationClientURI: nil,
                        redirectURI: "https://rp.example/cb", postLogoutRedirectURI: nil, scopes: ["openid"],
                        clientName: nil, grantTypes: [], responseTypes: [], tokenEndpointAuthMethod: "private_key_jwt",
                        idTokenSignedResponseAlg: nil, isDynamicallyRegistered: true, createdAt: clock.now(),
                        signingKey: try key.pem(), signingKeyID: key.keyID, signingAlgorithm: "ES256")
        #expect(try SiteSigningKey(site: site) == key)
        #expect(try ClientAuthentication(site: site) == .privateKeyJWT(clientID: "c", key: key))
        // Read once: the same stored key gives the same parsed key object (reading a PEM key costs about 0.5 ms,
        // and each token request of the site needed it).
        let first = try #require(try SiteSigningKey(site: site))
        let second = try #require(try SiteSigningKey(site: site))
        #expect(first.privateKey === second.privateKey)
        for damage in [{ (site: inout Site) in site.signingAlgorithm = "RS256" },
                       { site in site.signingKeyID = "other" },
                       { site in site.signingKey = Secret("not a key") },
                       { site in site.signingKey = nil }] {
            var damaged = site
            damage(&damaged)
            let error = #expect(throws: RelydError.self) { try ClientAuthentication(site: damaged) }
            #expect(error?.code == .internalError)
        }
        site.signingKey = nil
        site.signingKeyID = nil
        site.signingAlgorithm = nil
        #expect(try SiteSigningKey(site: site) == nil)
    }
}
