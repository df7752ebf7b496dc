#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydCrypto
import RelydProtocol

/// A key relyd signs its own JWS with: the client secret (HS256) or the site's private key.
enum JWSSigningKey {
    case hmacSHA256(Secret)
    case site(SiteSigningKey)

    var algorithm: JWSAlgorithm {
        switch self {
        case .hmacSHA256: .hs256
        case .site(let key): key.algorithm
        }
    }

    var keyID: String? {
        switch self {
        case .hmacSHA256: nil
        case .site(let key): key.keyID
        }
    }

    func signature(of signingInput: [UInt8]) throws -> [UInt8] {
        switch self {
        case .hmacSHA256(let secret): try hmac(.sha256, key: Array(secret.revealed.utf8), data: signingInput)
        case .site(let key): try key.signature(of: signingInput)
        }
    }
}

extension JWS {
    /// The compact serialization (RFC 7515 §7.1) of `claims` signed with `key`; the header carries `alg`, `typ`
    /// JWT and the key's `kid` when it has one.
    static func compact(claims: [String: JSONValue], signedWith key: JWSSigningKey) throws -> String {
        var header: [String: JSONValue] = ["alg": .string(key.algorithm.rawValue), "typ": .string("JWT")]
        if let keyID = key.keyID { header["kid"] = .string(keyID) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let signingInput = Base64URL.encode(Array(try encoder.encode(JSONValue.object(header))))
            + "." + Base64URL.encode(Array(try encoder.encode(JSONValue.object(claims))))
        return signingInput + "." + Base64URL.encode(try key.signature(of: Array(signingInput.utf8)))
    }
}
