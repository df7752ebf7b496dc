import Foundation
import RelydBasics
import RelydCrypto
import RelydOIDC
import RelydProtocol

/// A key a test OP signs its JWTs (ID tokens, signed userinfo, logout tokens) with, for every algorithm family an
/// RP must handle: RS256, ES256 and EdDSA with a private key made by RelydCrypto and published in the JWKS,
/// HS256 with the client's secret, and `none` (no signature at all).
public struct OPSigningKey: Sendable {
    public let algorithm: JWSAlgorithm
    /// The `kid` put in the token header and the JWK; nil leaves it out of both.
    public let keyID: String?
    private let privateKey: PrivateKey?

    /// A key for `algorithm`. Keys of the same algorithm and `generation` are the same key in the whole test
    /// process: RSA generation is CPU-heavy, and a test asks for a new generation only when it needs another key
    /// (rotation, a key the OP never publishes).
    public init(_ algorithm: JWSAlgorithm, keyID: String?, generation: Int = 0) throws {
        self.algorithm = algorithm
        self.keyID = keyID
        switch algorithm {
        case .rs256: privateKey = try Self.sharedKey(.rsa, generation)
        case .es256: privateKey = try Self.sharedKey(.ec(.p256), generation)
        case .edDSA: privateKey = try Self.sharedKey(.ed25519, generation)
        case .hs256, .none: privateKey = nil
        default: throw FakeOPError("no test key for \(algorithm.rawValue)")
        }
    }

    private static let keys = Locked<[String: PrivateKey]>([:])

    private static func sharedKey(_ kind: PublicKey.Kind, _ generation: Int) throws -> PrivateKey {
        let name = "\(kind)-\(generation)"
        if let key = keys.withLock({ $0[name] }) { return key }
        let key = try PrivateKey(generating: kind)
        return keys.withLock { shared in
            if let first = shared[name] { return first }  // another test made it meanwhile
            shared[name] = key
            return key
        }
    }

    /// The public JWK with `use` sig, `alg` and the `kid` when there is one; nil for HS256 and `none`, which have
    /// nothing to publish.
    public var publicJWK: JSONValue? {
        guard let components = try? privateKey?.publicComponents() else { return nil }
        var jwk = components.jwkMembers
        jwk["use"] = .string("sig")
        jwk["alg"] = .string(algorithm.rawValue)
        if let keyID { jwk["kid"] = .string(keyID) }
        return .object(jwk)
    }

    /// A compact JWS of `claims`; HS256 is keyed with `clientSecret`. `header` edits may change or drop any
    /// member (`alg`, `kid`, `typ`) after they are set.
    public func sign(_ claims: [String: JSONValue], clientSecret: String,
                     header edits: (inout [String: JSONValue]) -> Void = { _ in }) throws -> String {
        var header: [String: JSONValue] = ["alg": .string(algorithm.rawValue), "typ": .string("JWT")]
        if let keyID { header["kid"] = .string(keyID) }
        edits(&header)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let signingInput = Base64URL.encode(Array(try encoder.encode(JSONValue.object(header))))
            + "." + Base64URL.encode(Array(try encoder.encode(JSONValue.object(claims))))
        let message = Array(signingInput.utf8)
        let signature: [UInt8]
        switch algorithm.verificationScheme {
        case nil where algorithm == .hs256: signature = try hmac(.sha256, key: Array(clientSecret.utf8), data: message)
        case nil: signature = []
        case let scheme?:
            guard let privateKey else { throw FakeOPError("no private key") }
            signature = try privateKey.sign(message, scheme: scheme)
        }
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// `at_hash` of `accessToken` for this key's algorithm (Core 3.1.3.6); nil for `none`, which has no hash.
    public func tokenHash(_ accessToken: String) throws -> String? {
        guard let hash = algorithm.tokenHashAlgorithm else { return nil }
        let full = try digest(hash, Array(accessToken.utf8))
        return Base64URL.encode(Array(full.prefix(full.count / 2)))
    }
}

extension JWSAlgorithm {
    /// The public-key scheme of the three asymmetric algorithms the test OP signs with.
    fileprivate var verificationScheme: SignatureScheme? {
        switch self {
        case .rs256: .rsaPKCS1v15(.sha256)
        case .es256: .ecdsa(.sha256)
        case .edDSA: .ed25519
        default: nil
        }
    }
}
