import Foundation
import RelydCrypto
import Testing

/// Keys and signatures made by Python `cryptography` (Fixtures/crypto.json, written by
/// Tests/RelydOIDCTests/Fixtures/make_fixtures.py). Byte strings are hex.
struct CryptoFixtures: Decodable {
    struct Key: Decodable {
        let kty: String
        let n: String?
        let e: String?
        let crv: String?
        let x: String?
        let y: String?
    }

    struct Signature: Decodable, CustomTestStringConvertible, Sendable {
        let name: String
        let scheme: String
        let digest: String?
        let key: String
        let signature: String
        var testDescription: String { name }
    }

    let message: String
    let keys: [String: Key]
    let signatures: [Signature]

    static let shared: CryptoFixtures = {
        do {
            guard let url = Bundle.module.url(forResource: "Fixtures/crypto", withExtension: "json") else {
                throw CocoaError(.fileNoSuchFile)
            }
            return try JSONDecoder().decode(CryptoFixtures.self, from: Data(contentsOf: url))
        } catch {
            preconditionFailure("cannot load crypto.json: \(error)")
        }
    }()

    /// Builds the named fixture key with the initialiser its `kty` calls for.
    func publicKey(_ name: String) throws -> PublicKey {
        let key = try #require(keys[name])
        switch key.kty {
        case "RSA":
            return try PublicKey(rsaModulus: hex(#require(key.n)), exponent: hex(#require(key.e)))
        case "EC":
            let name = try #require(key.crv)
            let curve = try #require(EllipticCurve(rawValue: name))
            return try PublicKey(curve: curve, x: hex(#require(key.x)), y: hex(#require(key.y)))
        default:
            return try PublicKey(ed25519: hex(#require(key.x)))
        }
    }

    func scheme(of signature: Signature) throws -> SignatureScheme {
        let digest: DigestAlgorithm? = switch signature.digest {
        case "sha256": .sha256
        case "sha384": .sha384
        case "sha512": .sha512
        default: nil
        }
        switch signature.scheme {
        case "rsaPKCS1v15": return .rsaPKCS1v15(try #require(digest))
        case "rsaPSS": return .rsaPSS(try #require(digest))
        case "ecdsa": return .ecdsa(try #require(digest))
        default: return .ed25519
        }
    }
}

/// The bytes a hex string spells (test input only; odd lengths and non-hex characters trap).
func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
