import Foundation
import RelydBasics
import RelydCrypto
import RelydHTTP
import RelydOIDC
import RelydProtocol

/// A token endpoint for ``FakeOP`` that accepts only JWT client assertions (RFC 7523), installed with
/// `op.override(path: "/token")`: the assertion is checked like a strict OP would (signature with the client
/// secret for client_secret_jwt, or with the JWKS the client registered inline for private_key_jwt; `iss`, `sub`,
/// `aud`, `exp`, `iat`, single-use `jti`, a `client_id` naming the same client), and no client secret may appear in
/// the request. ID tokens are signed
/// RS256 with the OP's own key, served at `/jwks`, so sites without a shared secret can validate them.
public final class AssertionTokenEndpoint: @unchecked Sendable {
    /// How the OP knows a client's verification key.
    public enum ClientKey: Sendable {
        /// client_secret_jwt with this secret.
        case secret(String)
        /// private_key_jwt with the `jwks` member of the client's registration request (or, for a pre-registered
        /// client, this JWKS document).
        case registeredJWKS([String: JSONValue]?)
    }

    private struct Grant {
        var clientID: String
        var nonce: String
    }

    private let op: FakeOP
    private let clock: any WallClock
    private let signingKey: PrivateKey
    private let keyID = "op-rs256"
    // Invariant: read and written only under `state`'s lock.
    private let state = Locked<(keys: [String: ClientKey], grants: [String: Grant], jtis: Set<String>,
                                assertions: [String])>(([:], [:], [], []))

    /// One OP key for every instance: RSA key generation is CPU-heavy, and parallel tests generating many keys slow
    /// down the timing-sensitive tests running beside them.
    private static let sharedSigningKey = Result { () throws(CryptoError) in try PrivateKey(generating: .rsa) }

    public init(op: FakeOP, clock: any WallClock) throws {
        self.op = op
        self.clock = clock
        self.signingKey = try Self.sharedSigningKey.get()
        guard case .rsa(let modulus, let exponent) = try signingKey.publicComponents() else {
            throw FakeOPError("no RSA key")
        }
        let jwk: JSONValue = .object([
            "kty": .string("RSA"), "kid": .string(keyID), "use": .string("sig"), "alg": .string("RS256"),
            "n": .string(Base64URL.encode(modulus)), "e": .string(Base64URL.encode(exponent)),
        ])
        op.override(path: "/jwks") { _ in FakeOP.json(["keys": .array([jwk])]) }
        op.discoveryEdits = { document in
            document["id_token_signing_alg_values_supported"] = .array([.string("RS256")])
            document["token_endpoint_auth_methods_supported"] = .array(
                ["client_secret_jwt", "private_key_jwt"].map(JSONValue.string))
        }
        op.override(path: "/token") { [unowned self] request in self.token(request) }
    }

    /// Tells the OP how to check `clientID`'s assertions.
    public func setKey(_ key: ClientKey, for clientID: String) { state.withLock { $0.keys[clientID] = key } }

    /// Every client assertion received, accepted or not.
    public var assertions: [String] { state.withLock { $0.assertions } }

    /// Runs get_authorization_url and the user's login for `oxdID`; returns the code and state to redeem.
    public func login(_ harness: DispatcherHarness, oxdID: String) async throws -> (code: String, state: String) {
        let response = await harness.send("get_authorization_url", ["oxd_id": .string(oxdID)])
        guard response.isOK, let url = response.data["authorization_url"]?.stringValue,
              let state = response.data["state"]?.stringValue
        else { throw FakeOPError("get_authorization_url failed: \(response.raw)") }
        return (try authorize(url), state)
    }

    /// Plays the user's browser for an authorization URL and returns the code this endpoint will redeem.
    public func authorize(_ url: String) throws -> String {
        guard let query = URLComponents(string: url)?.queryItems,
              let clientID = query.first(where: { $0.name == "client_id" })?.value,
              let nonce = query.first(where: { $0.name == "nonce" })?.value
        else { throw FakeOPError("incomplete authorization URL") }
        let code = try op.authorize(url)
        self.state.withLock { $0.grants[code] = Grant(clientID: clientID, nonce: nonce) }
        return code
    }

    private func token(_ request: HTTPRequest) -> HTTPResponse {
        let form = FakeOP.form(request.body)
        let carriesSecret = form["client_secret"] != nil
            || request.headers.contains { $0.0.lowercased() == "authorization" }
        guard !carriesSecret, form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
              let assertion = form["client_assertion"]
        else { return Self.invalidClient }
        state.withLock { $0.assertions.append(assertion) }
        guard let jws = try? JWS(compact: assertion), let clientID = jws.payload["iss"]?.stringValue,
              jws.payload["sub"] == .string(clientID), form["client_id"].map({ $0 == clientID }) ?? true,
              jws.payload["aud"] == .string(op.issuer + "/token"),
              let expiry = jws.payload["exp"]?.int64Value, let issuedAt = jws.payload["iat"]?.int64Value,
              let jti = jws.payload["jti"]?.stringValue,
              let key = state.withLock({ $0.keys[clientID] }), verify(jws, with: key, clientID: clientID)
        else { return Self.invalidClient }
        let now = Int64(clock.now().timeIntervalSince1970)
        guard issuedAt <= now, now < expiry, expiry - issuedAt <= 300,
              state.withLock({ $0.jtis.insert(jti).inserted })
        else { return Self.invalidClient }
        guard form["grant_type"] == "authorization_code", let code = form["code"],
              let grant = state.withLock({ $0.grants.removeValue(forKey: code) }), grant.clientID == clientID
        else { return FakeOP.json(["error": .string("invalid_grant")], status: 400) }
        let claims: [String: JSONValue] = [
            "iss": .string(op.issuer), "sub": .string("alice"), "aud": .string(clientID), "iat": .integer(now),
            "exp": .integer(now + 600), "nonce": .string(grant.nonce),
        ]
        guard let idToken = try? signRS256(claims) else { return FakeOP.json([:], status: 500) }
        return FakeOP.json([
            "access_token": .string("at-\(jti)"), "token_type": .string("Bearer"), "expires_in": .integer(600),
            "id_token": .string(idToken),
        ])
    }

    private func verify(_ jws: JWS, with key: ClientKey, clientID: String) -> Bool {
        switch key {
        case .secret(let secret):
            guard jws.header.algorithm == .hs256,
                  let mac = try? hmac(.sha256, key: Array(secret.utf8), data: jws.signingInput)
            else { return false }
            return constantTimeEquals(mac, jws.signature)
        case .registeredJWKS(let given):
            guard let document = given ?? registeredJWKS(),
                  let data = try? JSONEncoder().encode(JSONValue.object(document)),
                  let keys = try? JWKSet(json: data)
            else { return false }
            let scheme: SignatureScheme
            switch jws.header.algorithm {
            case .rs256: scheme = .rsaPKCS1v15(.sha256)
            case .es256: scheme = .ecdsa(.sha256)
            default: return false
            }
            return keys.candidates(for: jws.header).contains { candidate in
                (try? candidate.publicKey.verify(jws.signature, of: jws.signingInput, scheme: scheme)) == true
            }
        }
    }

    /// The `jwks` member of the last registration request.
    private func registeredJWKS() -> [String: JSONValue]? {
        guard let body = op.requests(to: "/register").last?.body,
              let document = try? JSONDecoder().decode([String: JSONValue].self, from: body)
        else { return nil }
        return document["jwks"]?.objectValue
    }

    private func signRS256(_ claims: [String: JSONValue]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header: JSONValue = .object(["alg": .string("RS256"), "kid": .string(keyID), "typ": .string("JWT")])
        let signingInput = Base64URL.encode(Array(try encoder.encode(header)))
            + "." + Base64URL.encode(Array(try encoder.encode(JSONValue.object(claims))))
        let signature = try signingKey.sign(Array(signingInput.utf8), scheme: .rsaPKCS1v15(.sha256))
        return signingInput + "." + Base64URL.encode(signature)
    }

    private static var invalidClient: HTTPResponse { FakeOP.json(["error": .string("invalid_client")], status: 401) }
}
