/// A failed libcrypto call: which C function failed and OpenSSL's reason for it.
///
/// The reason comes from OpenSSL's error queue (or, for checks done in Swift before calling OpenSSL, a fixed phrase).
/// It never contains key material or input bytes, so it is safe to log.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C function (or, for a check done in Swift, the Swift API) that failed.
    public let function: String
    /// OpenSSL's reason string for the first error on the queue, or a fixed phrase.
    public let reason: String

    public init(function: String, reason: String) {
        self.function = function
        self.reason = reason
    }

    public var description: String { "\(function): \(reason)" }
}

/// The SHA-2 digests JOSE uses.
public enum DigestAlgorithm: Sendable, Hashable, CaseIterable {
    case sha256, sha384, sha512

    /// Output length in bytes.
    public var length: Int {
        switch self {
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }
}

/// The NIST curves JOSE names in `crv` (RFC 7518 §6.2.1.1).
public enum EllipticCurve: String, Sendable, Hashable, CaseIterable {
    case p256 = "P-256"
    case p384 = "P-384"
    case p521 = "P-521"

    /// Bytes in one coordinate (and in each of r and s of a JWS signature): the field size rounded up to bytes.
    public var coordinateLength: Int {
        switch self {
        case .p256: 32
        case .p384: 48
        case .p521: 66
        }
    }
}

/// How a signature is checked. Each scheme needs a key of one kind; any other kind is refused, never tried.
public enum SignatureScheme: Sendable, Hashable {
    /// RSASSA-PKCS1-v1_5 (RS256/384/512). The signature must be exactly as long as the modulus.
    case rsaPKCS1v15(DigestAlgorithm)
    /// RSASSA-PSS with MGF1 over the same digest and a salt exactly as long as the digest (PS256/384/512, RFC 7518 §3.5).
    case rsaPSS(DigestAlgorithm)
    /// ECDSA with the JWS signature format: raw `r || s`, each exactly the key's coordinate length (RFC 7518 §3.4).
    case ecdsa(DigestAlgorithm)
    /// Ed25519 (RFC 8032), which hashes internally.
    case ed25519
}

/// The public half of a key pair as JWK members need it (RFC 7518 §6.2, §6.3, RFC 8037 §2): big-endian bytes, no
/// leading zeros for RSA, EC coordinates padded to the curve's coordinate length, Ed25519's 32-byte encoding.
public enum PublicKeyComponents: Sendable, Equatable {
    case rsa(modulus: [UInt8], exponent: [UInt8])
    case ec(EllipticCurve, x: [UInt8], y: [UInt8])
    case ed25519(x: [UInt8])
}
