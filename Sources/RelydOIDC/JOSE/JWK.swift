#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydCrypto
import RelydProtocol

/// One public signing key from an OP's JWKS (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2).
///
/// The OpenSSL key is built when the JWK is parsed and kept with it: importing validates the key, which costs
/// milliseconds for RSA (OpenSSL 3's public-key check: about 3.3 ms at 2048 bits, 18 ms at 4096, 120 ms at 8192;
/// microseconds for EC and Ed25519), so a JWKS is paid for once per fetch, off the event loop, not once per token.
public struct JWK: Sendable {
    public let keyID: String?
    /// `use`: a key marked for anything but `sig` never verifies a signature.
    public let use: String?
    /// `alg`: when present, the only algorithm the key may be used with.
    public let algorithm: String?
    /// `key_ops`: when present, must contain `verify` for the key to verify a signature.
    public let keyOperations: [String]?
    public let publicKey: PublicKey

    /// Parses one JWK object. Throws `.unusableKey` for an unsupported `kty`/`crv` (including symmetric `oct` keys,
    /// which relyd never takes from a JWKS), for missing or invalid key parameters, and for keys OpenSSL refuses
    /// (RSA under 2048 bits, EC points off the curve).
    public init(parameters: [String: JSONValue]) throws(JOSEError) {
        keyID = try Self.string(parameters, "kid")
        use = try Self.string(parameters, "use")
        algorithm = try Self.string(parameters, "alg")
        if let operations = parameters["key_ops"] {
            let strings = operations.arrayValue?.compactMap(\.stringValue)
            guard let strings, strings.count == operations.arrayValue?.count else {
                throw JOSEError(.unusableKey, "JWK key_ops is not an array of strings")
            }
            keyOperations = strings
        } else {
            keyOperations = nil
        }
        switch try Self.string(parameters, "kty") {
        case "RSA":
            let n = try Self.bytes(parameters, "n"), e = try Self.bytes(parameters, "e")
            publicKey = try Self.imported { () throws(CryptoError) in try PublicKey(rsaModulus: n, exponent: e) }
        case "EC":
            guard let curve = try Self.string(parameters, "crv").flatMap(EllipticCurve.init(rawValue:)) else {
                throw JOSEError(.unusableKey, "JWK crv is not a supported curve")
            }
            let x = try Self.coordinate(parameters, "x", curve), y = try Self.coordinate(parameters, "y", curve)
            publicKey = try Self.imported { () throws(CryptoError) in try PublicKey(curve: curve, x: x, y: y) }
        case "OKP":
            guard try Self.string(parameters, "crv") == "Ed25519" else {
                throw JOSEError(.unusableKey, "JWK crv is not a supported curve")
            }
            let x = try Self.bytes(parameters, "x")
            publicKey = try Self.imported { () throws(CryptoError) in try PublicKey(ed25519: x) }
        default:
            throw JOSEError(.unusableKey, "JWK kty is not supported")
        }
    }

    /// An EC coordinate at the curve's full length.
    ///
    /// RFC 7518 6.2.1.2 requires the full length, but real OPs strip leading zero bytes (Glewlwyd's key tool does so
    /// for about one key in a hundred), and refusing those keys would fail one login in a hundred at random. Padding
    /// with zeros on the left names the same integer, and OpenSSL still checks the point is on the curve; a
    /// coordinate longer than the curve allows is refused.
    private static func coordinate(_ parameters: [String: JSONValue], _ name: String,
                                   _ curve: EllipticCurve) throws(JOSEError) -> [UInt8] {
        let value = try bytes(parameters, name)
        guard value.count <= curve.coordinateLength else {
            throw JOSEError(.unusableKey, "JWK \(name) is longer than a \(curve.rawValue) coordinate")
        }
        return [UInt8](repeating: 0, count: curve.coordinateLength - value.count) + value
    }

    /// Whether this key may verify a signature made with `algorithm`: the key's type and curve fit the algorithm,
    /// `use` is absent or `sig`, `alg` is absent or equal, and `key_ops` is absent or contains `verify`.
    public func canVerify(_ algorithm: JWSAlgorithm) -> Bool {
        guard case .publicKey(_, let kind) = algorithm.verification, kind == publicKey.kind else { return false }
        return (use ?? "sig") == "sig"
            && (self.algorithm ?? algorithm.rawValue) == algorithm.rawValue
            && (keyOperations?.contains("verify") ?? true)
    }

    /// The OpenSSL key `build` makes, with OpenSSL's refusal (too short, off the curve, bad exponent) reported
    /// as an unusable key.
    private static func imported(_ build: () throws(CryptoError) -> PublicKey) throws(JOSEError) -> PublicKey {
        do {
            return try build()
        } catch {
            throw JOSEError(.unusableKey, "JWK parameters do not make a usable key: \(error.reason)")
        }
    }

    private static func string(_ parameters: [String: JSONValue], _ name: String) throws(JOSEError) -> String? {
        guard let value = parameters[name] else { return nil }
        guard let string = value.stringValue else { throw JOSEError(.unusableKey, "JWK \(name) is not a string") }
        return string
    }

    private static func bytes(_ parameters: [String: JSONValue], _ name: String) throws(JOSEError) -> [UInt8] {
        guard let text = try string(parameters, name), let bytes = Base64URL.decode(text), !bytes.isEmpty else {
            throw JOSEError(.unusableKey, "JWK \(name) is missing or not base64url")
        }
        return bytes
    }
}

/// An OP's JSON Web Key Set: the keys relyd can use, in document order.
public struct JWKSet: Sendable {
    public let keys: [JWK]
    /// How many entries of the document were skipped as unusable (unsupported type or curve, bad parameters,
    /// weak or invalid keys). Worth logging: an OP whose keys are all skipped cannot sign in anyone.
    public let skippedKeyCount: Int

    public init(keys: [JWK], skippedKeyCount: Int = 0) {
        self.keys = keys
        self.skippedKeyCount = skippedKeyCount
    }

    /// How many entries of a JWKS are imported at most. Importing a key costs up to a tenth of a second (an 8192-bit
    /// RSA key) and a 1 MiB document holds hundreds, so without a bound a hostile OP could stall every JWKS fetch
    /// for minutes; real OPs publish a handful.
    public static let maximumEntryCount = 64

    /// Parses a JWKS document. The document must be `{"keys": [...]}`; an entry that is not a usable JWK is skipped
    /// rather than failing the set, as RFC 7517 §5 asks, so one exotic key cannot lock out every user. Entries past
    /// ``maximumEntryCount`` are skipped unread.
    public init(json: Data) throws(JOSEError) {
        guard let document = try? JSONParser.parseObject(Array(json)), let entries = document["keys"]?.arrayValue else {
            throw JOSEError(.malformed, "JWKS is not an object with a keys array")
        }
        var keys: [JWK] = []
        for entry in entries.prefix(Self.maximumEntryCount) {
            guard let parameters = entry.objectValue, let key = try? JWK(parameters: parameters) else { continue }
            keys.append(key)
        }
        self.init(keys: keys, skippedKeyCount: entries.count - keys.count)
    }

    /// The keys that may have signed a JWS with `header`: those allowed for its algorithm (``JWK/canVerify(_:)``)
    /// and, when the header names a `kid`, carrying exactly that `kid`.
    public func candidates(for header: JWSHeader) -> [JWK] {
        keys.filter { key in
            (header.keyID.map { $0 == key.keyID } ?? true) && key.canVerify(header.algorithm)
        }
    }
}

extension PublicKeyComponents {
    /// The members of a public JWK that say what the key is (RFC 7518 §6.2, §6.3, RFC 8037 §2): `kty` and its key
    /// parameters, without `kid`, `use` or `alg`, which depend on how the key is used.
    public var jwkMembers: [String: JSONValue] { requiredMembers.mapValues { .string($0) } }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): a key id that anyone holding the public JWK can recompute.
    public func jwkThumbprint() throws -> String {
        // RFC 7638 §3.2: the required members are exactly those above, in lexicographic order without whitespace.
        // Neither the names nor the values (base64url, curve names) ever need escaping.
        let members = requiredMembers.sorted { $0.key < $1.key }.map { #""\#($0.key)":"\#($0.value)""# }
        return Base64URL.encode(try digest(.sha256, Array("{\(members.joined(separator: ","))}".utf8)))
    }

    /// All string-valued, which the thumbprint relies on.
    private var requiredMembers: [String: String] {
        switch self {
        case .rsa(let modulus, let exponent):
            ["kty": "RSA", "n": Base64URL.encode(modulus), "e": Base64URL.encode(exponent)]
        case .ec(let curve, let x, let y):
            ["kty": "EC", "crv": curve.rawValue, "x": Base64URL.encode(x), "y": Base64URL.encode(y)]
        case .ed25519(let x):
            ["kty": "OKP", "crv": "Ed25519", "x": Base64URL.encode(x)]
        }
    }
}
