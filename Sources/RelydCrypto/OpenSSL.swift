// The only file that calls libcrypto. Every EVP_/BN_/ERR_/RAND_ call lives here, and no C pointer leaves it:
// the rest of relyd sees byte arrays, `PublicKey`, `Bool` and `CryptoError`.
import COpenSSL
import RelydBasics

// MARK: - Errors

extension CryptoError {
    /// The error for a failed `function`, taken from the first entry on this thread's OpenSSL error queue.
    ///
    /// Drains the whole queue: the queue is per thread, and an entry left behind would be reported by a later,
    /// unrelated call on the same thread.
    static func openSSL(_ function: String) -> CryptoError {
        let first = ERR_get_error()
        var reason = "no reason on the OpenSSL error queue"
        if first != 0, let text = ERR_reason_error_string(first) {
            reason = String(cString: text)
        }
        ERR_clear_error()
        return CryptoError(function: function, reason: reason)
    }
}

extension DigestAlgorithm {
    /// The provider name OpenSSL fetches the digest by.
    fileprivate var openSSLName: String {
        switch self {
        case .sha256: "SHA2-256"
        case .sha384: "SHA2-384"
        case .sha512: "SHA2-512"
        }
    }
}

// MARK: - Digest, HMAC, comparison

/// The SHA-2 digest of `data`.
public func digest(_ algorithm: DigestAlgorithm, _ data: [UInt8]) throws(CryptoError) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: algorithm.length)
    var written = 0
    let ok = output.withUnsafeMutableBufferPointer { out in
        EVP_Q_digest(nil, algorithm.openSSLName, nil, data, data.count, out.baseAddress, &written)
    }
    guard ok == 1, written == algorithm.length else { throw .openSSL("EVP_Q_digest") }
    return output
}

/// HMAC (RFC 2104) of `data` under `key` with the given digest.
///
/// An empty key is refused: it authenticates nothing, and OpenSSL would treat a missing key as "reuse the previous one".
public func hmac(_ algorithm: DigestAlgorithm, key: [UInt8], data: [UInt8]) throws(CryptoError) -> [UInt8] {
    guard !key.isEmpty else { throw CryptoError(function: "EVP_Q_mac", reason: "empty HMAC key") }
    var output = [UInt8](repeating: 0, count: algorithm.length)
    var written = 0
    let result = output.withUnsafeMutableBufferPointer { out in
        EVP_Q_mac(nil, "HMAC", nil, algorithm.openSSLName, nil, key, key.count, data, data.count,
                  out.baseAddress, out.count, &written)
    }
    guard result != nil, written == algorithm.length else { throw .openSSL("EVP_Q_mac") }
    return output
}

/// Whether `a` and `b` hold the same bytes, in time that depends only on their length (CRYPTO_memcmp).
///
/// Use it for every comparison with a secret or a value an attacker tries to guess byte by byte (MACs, nonces).
/// Lengths are not secret: different lengths return `false` at once.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return CRYPTO_memcmp(a, b, a.count) == 0
}

// MARK: - Public keys

/// A public key for signature verification, built from JWK components.
///
/// `@unchecked Sendable` because it wraps an `EVP_PKEY*`: the key is built once in the initialiser and never mutated
/// afterwards, and OpenSSL 3 allows concurrent verifications with one immutable key. Building one costs tens of
/// microseconds (the import validates the key), so callers keep and reuse them.
public final class PublicKey: @unchecked Sendable {
    /// What the key is, which decides the signature schemes it can check.
    public enum Kind: Sendable, Hashable {
        case rsa
        case ec(EllipticCurve)
        case ed25519
    }

    /// RSA keys shorter than this are refused (NIST SP 800-131A; RFC 7518 §3.3 requires 2048 bits).
    public static let minimumRSABits = 2048

    public let kind: Kind
    /// Key size in bits: the modulus for RSA, the field for EC, 256 for Ed25519.
    public let bits: Int
    private let pkey: OpaquePointer

    private init(taking pkey: OpaquePointer, kind: Kind) {
        self.pkey = pkey
        self.kind = kind
        self.bits = Int(EVP_PKEY_get_bits(pkey))
    }

    deinit { EVP_PKEY_free(pkey) }

    /// An RSA key from the big-endian modulus `n` and exponent `e` (JWK `n`, `e`).
    ///
    /// Refuses keys under ``minimumRSABits`` and keys that fail OpenSSL's public key check (even modulus,
    /// exponent that is even or 1).
    public convenience init(rsaModulus modulus: [UInt8], exponent: [UInt8]) throws(CryptoError) {
        let n = BN_bin2bn(modulus, Int32(clamping: modulus.count), nil)
        let e = BN_bin2bn(exponent, Int32(clamping: exponent.count), nil)
        defer {
            BN_free(n)
            BN_free(e)
        }
        guard let n, let e else { throw .openSSL("BN_bin2bn") }
        guard BN_num_bits(n) >= Self.minimumRSABits else {
            throw CryptoError(function: "PublicKey.init(rsaModulus:exponent:)",
                              reason: "RSA modulus shorter than \(Self.minimumRSABits) bits")
        }
        let pkey = try importPublicKey(type: "RSA") { builder in
            OSSL_PARAM_BLD_push_BN(builder, relyd_PARAM_RSA_N, n) == 1
                && OSSL_PARAM_BLD_push_BN(builder, relyd_PARAM_RSA_E, e) == 1
        }
        self.init(taking: pkey, kind: .rsa)
    }

    /// An EC key from the big-endian affine coordinates (JWK `crv`, `x`, `y`).
    ///
    /// Each coordinate must be exactly the curve's coordinate length (RFC 7518 §6.2.1.2). A point that is not on the
    /// curve is refused: accepting one enables invalid-curve attacks.
    public convenience init(curve: EllipticCurve, x: [UInt8], y: [UInt8]) throws(CryptoError) {
        guard x.count == curve.coordinateLength, y.count == curve.coordinateLength else {
            throw CryptoError(function: "PublicKey.init(curve:x:y:)", reason: "coordinate length does not fit the curve")
        }
        // OSSL_PARAM_BLD keeps the value pointer until OSSL_PARAM_BLD_to_param, so the point must outlive the import.
        let point = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 + x.count + y.count)
        defer { point.deallocate() }
        point[0] = 0x04  // uncompressed SEC1 point
        _ = UnsafeMutableBufferPointer(rebasing: point[1...]).initialize(from: x + y)
        let groupName: UnsafePointer<CChar> = switch curve {
        case .p256: relyd_GROUP_P256
        case .p384: relyd_GROUP_P384
        case .p521: relyd_GROUP_P521
        }
        let pkey = try importPublicKey(type: "EC") { builder in
            OSSL_PARAM_BLD_push_utf8_string(builder, relyd_PARAM_GROUP_NAME, groupName, 0) == 1
                && OSSL_PARAM_BLD_push_octet_string(builder, relyd_PARAM_PUB_KEY, point.baseAddress, point.count) == 1
        }
        self.init(taking: pkey, kind: .ec(curve))
    }

    /// An Ed25519 key from its 32-byte encoding (JWK `kty` OKP, `crv` Ed25519, `x`).
    public convenience init(ed25519 x: [UInt8]) throws(CryptoError) {
        guard x.count == 32 else {
            throw CryptoError(function: "PublicKey.init(ed25519:)", reason: "Ed25519 key is not 32 bytes")
        }
        guard let pkey = EVP_PKEY_new_raw_public_key_ex(nil, "ED25519", nil, x, x.count) else {
            throw .openSSL("EVP_PKEY_new_raw_public_key_ex")
        }
        self.init(taking: pkey, kind: .ed25519)
    }

    /// Whether `signature` is a valid signature of `message` under this key with `scheme`.
    ///
    /// Returns `false` for any signature that does not verify, including one of the wrong length. Throws when the
    /// scheme does not fit the key (a caller bug: keys must be chosen for the algorithm before verifying) or when
    /// OpenSSL cannot set up the verification.
    public func verify(_ signature: [UInt8], of message: [UInt8], scheme: SignatureScheme) throws(CryptoError) -> Bool {
        let digest: DigestAlgorithm?
        var encoded = signature
        switch (scheme, kind) {
        case (.rsaPKCS1v15(let algorithm), .rsa), (.rsaPSS(let algorithm), .rsa):
            // OpenSSL accepts a signature shorter than the modulus; RFC 7518 §3.3 says it has the modulus' length.
            guard signature.count == (bits + 7) / 8 else { return false }
            digest = algorithm
        case (.ecdsa(let algorithm), .ec(let curve)):
            guard signature.count == 2 * curve.coordinateLength else { return false }
            encoded = try derECDSASignature(rawRS: signature)
            digest = algorithm
        case (.ed25519, .ed25519):
            digest = nil
        default:
            throw CryptoError(function: "PublicKey.verify", reason: "signature scheme does not fit the key type")
        }

        guard let context = EVP_MD_CTX_new() else { throw .openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestVerifyInit_ex(context, &keyContext, digest?.openSSLName, nil, nil, pkey, nil) == 1 else {
            throw .openSSL("EVP_DigestVerifyInit_ex")
        }
        if case .rsaPSS = scheme {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
            else { throw .openSSL("EVP_PKEY_CTX_set_rsa_pss_saltlen") }
        }
        let valid = EVP_DigestVerify(context, encoded, encoded.count, message, message.count) == 1
        if !valid {
            ERR_clear_error()  // an ordinary bad signature also leaves entries on the queue
        }
        return valid
    }
}

/// Builds a public `EVP_PKEY` of `type` from the parameters `push` adds to an OSSL_PARAM_BLD, then checks it
/// with `EVP_PKEY_public_check` (point on the curve and not at infinity, odd modulus, sane exponent).
///
/// `push` must only push keys that are C literals and values that stay alive until this function returns.
private func importPublicKey(type: String, push: (OpaquePointer) -> Bool) throws(CryptoError) -> OpaquePointer {
    guard let builder = OSSL_PARAM_BLD_new() else { throw .openSSL("OSSL_PARAM_BLD_new") }
    defer { OSSL_PARAM_BLD_free(builder) }
    guard push(builder) else { throw .openSSL("OSSL_PARAM_BLD_push") }
    guard let params = OSSL_PARAM_BLD_to_param(builder) else { throw .openSSL("OSSL_PARAM_BLD_to_param") }
    defer { OSSL_PARAM_free(params) }
    guard let context = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { throw .openSSL("EVP_PKEY_CTX_new_from_name") }
    defer { EVP_PKEY_CTX_free(context) }
    var pkey: OpaquePointer?
    guard EVP_PKEY_fromdata_init(context) == 1,
          EVP_PKEY_fromdata(context, &pkey, relyd_EVP_PKEY_PUBLIC_KEY, params) == 1,
          let pkey
    else { throw .openSSL("EVP_PKEY_fromdata") }
    guard let checkContext = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
        EVP_PKEY_free(pkey)
        throw .openSSL("EVP_PKEY_CTX_new_from_pkey")
    }
    defer { EVP_PKEY_CTX_free(checkContext) }
    guard EVP_PKEY_public_check(checkContext) == 1 else {
        EVP_PKEY_free(pkey)
        throw .openSSL("EVP_PKEY_public_check")
    }
    return pkey
}

/// The DER `ECDSA-Sig-Value` OpenSSL verifies, from the JWS raw `r || s` (two halves of equal length).
private func derECDSASignature(rawRS: [UInt8]) throws(CryptoError) -> [UInt8] {
    let half = rawRS.count / 2
    guard let signature = ECDSA_SIG_new() else { throw .openSSL("ECDSA_SIG_new") }
    defer { ECDSA_SIG_free(signature) }
    let r = rawRS[..<half].withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(half), nil) }
    let s = rawRS[half...].withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(half), nil) }
    guard let r, let s, ECDSA_SIG_set0(signature, r, s) == 1 else {  // set0 takes ownership only on success
        BN_free(r)
        BN_free(s)
        throw .openSSL("ECDSA_SIG_set0")
    }
    let length = i2d_ECDSA_SIG(signature, nil)
    guard length > 0 else { throw .openSSL("i2d_ECDSA_SIG") }
    var der = [UInt8](repeating: 0, count: Int(length))
    let written = der.withUnsafeMutableBufferPointer { buffer in
        var cursor = buffer.baseAddress
        return i2d_ECDSA_SIG(signature, &cursor)
    }
    guard written == length else { throw .openSSL("i2d_ECDSA_SIG") }
    return der
}

// MARK: - Randomness

/// Unpredictable bytes from OpenSSL's CSPRNG (`RAND_bytes`, seeded from the kernel).
public struct OpenSSLRandom: RandomSource {
    public init() {}

    public func bytes(_ count: Int) throws -> [UInt8] {
        guard (0...Int(Int32.max)).contains(count) else {
            throw CryptoError(function: "RAND_bytes", reason: "byte count out of range")
        }
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        guard RAND_bytes(&output, Int32(count)) == 1 else { throw CryptoError.openSSL("RAND_bytes") }
        return output
    }
}
