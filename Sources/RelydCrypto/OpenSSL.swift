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

    /// The digest implementation, fetched once: fetching by name takes a lock and a lookup in the provider store on
    /// every call, which cost as much as hashing a whole ID token.
    fileprivate var method: FetchedDigest {
        get throws(CryptoError) {
            let fetched = switch self {
            case .sha256: FetchedDigest.sha256
            case .sha384: FetchedDigest.sha384
            case .sha512: FetchedDigest.sha512
            }
            guard let fetched else {
                throw CryptoError(function: "EVP_MD_fetch", reason: "\(openSSLName) is not available")
            }
            return fetched
        }
    }
}

/// An `EVP_MD` fetched from the default provider and never freed.
///
/// `@unchecked Sendable`: a fetched `EVP_MD` is immutable and reference counted atomically, and OpenSSL 3 allows its
/// use from any number of threads at once.
fileprivate struct FetchedDigest: @unchecked Sendable {
    let pointer: OpaquePointer

    static let sha256 = FetchedDigest(name: "SHA2-256")
    static let sha384 = FetchedDigest(name: "SHA2-384")
    static let sha512 = FetchedDigest(name: "SHA2-512")

    private init?(name: String) {
        guard let pointer = EVP_MD_fetch(nil, name, nil) else {
            ERR_clear_error()
            return nil
        }
        self.pointer = pointer
    }
}

// MARK: - Digest, HMAC, comparison

/// The SHA-2 digest of `data`.
public func digest(_ algorithm: DigestAlgorithm, _ data: [UInt8]) throws(CryptoError) -> [UInt8] {
    let method = try algorithm.method
    var output = [UInt8](repeating: 0, count: algorithm.length)
    var written: UInt32 = 0
    let ok = output.withUnsafeMutableBufferPointer { out in
        EVP_Digest(data, data.count, out.baseAddress, &written, method.pointer, nil)
    }
    guard ok == 1, written == algorithm.length else { throw .openSSL("EVP_Digest") }
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
/// afterwards, and OpenSSL 3 allows concurrent verifications with one immutable key (each with its own context, from
/// a locked pool). Building one validates the key, which costs milliseconds for RSA (about 3.3 ms at 2048 bits,
/// 120 ms at 8192), so callers keep and reuse them.
public final class PublicKey: @unchecked Sendable {
    /// What the key is, which decides the signature schemes it can check.
    public enum Kind: Sendable, Hashable {
        case rsa
        case ec(EllipticCurve)
        case ed25519
    }

    /// RSA keys shorter than this are refused (NIST SP 800-131A; RFC 7518 §3.3 requires 2048 bits).
    public static let minimumRSABits = 2048
    /// RSA keys longer than this are refused before OpenSSL's public key check, whose primality test costs time that
    /// grows with the cube of the modulus size: seconds for one 16384-bit key, so a JWKS of such keys from a hostile
    /// OP would stall the daemon for minutes. OPs sign with 2048 to 4096 bits; Go's TLS stack refuses RSA keys over
    /// 8192 bits for the same reason (CVE-2023-29409).
    public static let maximumRSABits = 8192

    public let kind: Kind
    /// Key size in bits: the modulus for RSA, the field for EC, 256 for Ed25519.
    public let bits: Int
    private let pkey: OpaquePointer
    private let verificationContexts = VerificationContextPool()

    private init(taking pkey: OpaquePointer, kind: Kind) {
        self.pkey = pkey
        self.kind = kind
        self.bits = Int(EVP_PKEY_get_bits(pkey))
    }

    deinit { EVP_PKEY_free(pkey) }

    /// An RSA key from the big-endian modulus `n` and exponent `e` (JWK `n`, `e`).
    ///
    /// Refuses keys under ``minimumRSABits`` or over ``maximumRSABits`` and keys that fail OpenSSL's public key
    /// check (even modulus, exponent that is even or 1).
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
        guard BN_num_bits(n) <= Self.maximumRSABits else {
            throw CryptoError(function: "PublicKey.init(rsaModulus:exponent:)",
                              reason: "RSA modulus longer than \(Self.maximumRSABits) bits")
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
        let pkey = try importPublicKey(type: "EC") { builder in
            OSSL_PARAM_BLD_push_utf8_string(builder, relyd_PARAM_GROUP_NAME, curve.groupName, 0) == 1
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
        let digestAlgorithm: DigestAlgorithm
        var encoded = signature
        switch (scheme, kind) {
        case (.rsaPKCS1v15(let algorithm), .rsa), (.rsaPSS(let algorithm), .rsa):
            // OpenSSL accepts a signature shorter than the modulus; RFC 7518 §3.3 says it has the modulus' length.
            guard signature.count == (bits + 7) / 8 else { return false }
            digestAlgorithm = algorithm
        case (.ecdsa(let algorithm), .ec(let curve)):
            guard signature.count == 2 * curve.coordinateLength else { return false }
            encoded = try derECDSASignature(rawRS: signature)
            digestAlgorithm = algorithm
        case (.ed25519, .ed25519):
            return try verifyEd25519(signature, of: message)
        default:
            throw CryptoError(function: "PublicKey.verify", reason: "signature scheme does not fit the key type")
        }
        // Hashing here and verifying the hash is what EVP_DigestVerify does inside, minus the contexts it builds and
        // copies on every call: 30k instructions per RS256 token, a tenth of the RSA operation itself.
        let hash = try digest(digestAlgorithm, message)
        let context = try verificationContexts.take(scheme) { () throws(CryptoError) in
            try makeVerificationContext(scheme, digest: digestAlgorithm)
        }
        let result = EVP_PKEY_verify(context.pointer, encoded, encoded.count, hash, hash.count)
        if result == 1 || result == 0 {
            verificationContexts.put(context, scheme)
        }
        if result != 1 {
            ERR_clear_error()  // an ordinary bad signature also leaves entries on the queue
        }
        return result == 1
    }

    /// Ed25519 hashes the message itself and has no reusable verification context: a one-shot EVP_DigestVerify.
    private func verifyEd25519(_ signature: [UInt8], of message: [UInt8]) throws(CryptoError) -> Bool {
        guard let context = EVP_MD_CTX_new() else { throw .openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit_ex(context, nil, nil, nil, nil, pkey, nil) == 1 else {
            throw .openSSL("EVP_DigestVerifyInit_ex")
        }
        let valid = EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
        if !valid {
            ERR_clear_error()
        }
        return valid
    }

    /// A context that verifies a `scheme` signature of a `digest` hash with this key: the padding, salt length and
    /// digest are set once here rather than for every token.
    private func makeVerificationContext(_ scheme: SignatureScheme,
                                         digest: DigestAlgorithm) throws(CryptoError) -> VerificationContext {
        guard let pointer = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
            throw .openSSL("EVP_PKEY_CTX_new_from_pkey")
        }
        let context = VerificationContext(taking: pointer)
        guard EVP_PKEY_verify_init(pointer) == 1 else { throw .openSSL("EVP_PKEY_verify_init") }
        guard EVP_PKEY_CTX_set_signature_md(pointer, try digest.method.pointer) == 1 else {
            throw .openSSL("EVP_PKEY_CTX_set_signature_md")
        }
        if case .rsaPSS = scheme {
            guard EVP_PKEY_CTX_set_rsa_padding(pointer, RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pointer, RSA_PSS_SALTLEN_DIGEST) == 1
            else { throw .openSSL("EVP_PKEY_CTX_set_rsa_pss_saltlen") }
        }
        return context
    }
}

/// An `EVP_PKEY_CTX` set up for verification, freed with its last reference.
///
/// `@unchecked Sendable`: a context is used by one verification at a time; ``VerificationContextPool`` hands it to
/// exactly one caller and takes it back after the call.
private final class VerificationContext: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_CTX_free(pointer) }
}

/// Ready verification contexts of one key, by scheme.
///
/// An `EVP_PKEY_CTX` is mutable state that two threads may not share, so each verification takes one for itself
/// and gives it back; a context can verify any number of signatures in turn. A few are kept per scheme, as many as
/// verifications usually run at once; past that a context is dropped rather than kept.
private final class VerificationContextPool: Sendable {
    private static let maximumIdlePerScheme = 4
    private let idle = Locked<[SignatureScheme: [VerificationContext]]>([:])

    /// An idle context for `scheme`, or a new one from `make`.
    func take(_ scheme: SignatureScheme,
              orMake make: () throws(CryptoError) -> VerificationContext) throws(CryptoError) -> VerificationContext {
        if let context = idle.withLock({ $0[scheme]?.popLast() }) { return context }
        return try make()
    }

    /// Gives back a context `take` returned, after a verification that completed (valid or not).
    func put(_ context: VerificationContext, _ scheme: SignatureScheme) {
        idle.withLock { idle in
            if idle[scheme, default: []].count < Self.maximumIdlePerScheme {
                idle[scheme, default: []].append(context)
            }
        }
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

// MARK: - Private keys

/// A private signing key that relyd generated for one of its clients (`private_key_jwt`, RFC 7523).
///
/// `@unchecked Sendable` for the same reason as ``PublicKey``: the wrapped `EVP_PKEY*` is made once in the
/// initialiser, never mutated, and freed in `deinit`. The key leaves this object only as PEM through
/// ``pem()``, for the store; the PEM is a `Secret` so it cannot reach a log line by accident.
public final class PrivateKey: @unchecked Sendable {
    public let kind: PublicKey.Kind
    private let pkey: OpaquePointer

    private init(taking pkey: OpaquePointer, kind: PublicKey.Kind) {
        self.pkey = pkey
        self.kind = kind
    }

    deinit { EVP_PKEY_free(pkey) }

    /// A fresh key pair: RSA with ``PublicKey/minimumRSABits`` bits, EC on the given curve, or Ed25519.
    public convenience init(generating kind: PublicKey.Kind) throws(CryptoError) {
        let typeName: String
        switch kind {
        case .rsa: typeName = "RSA"
        case .ec: typeName = "EC"
        case .ed25519: typeName = "ED25519"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, typeName, nil) else {
            throw .openSSL("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw .openSSL("EVP_PKEY_keygen_init") }
        switch kind {
        case .rsa:
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(PublicKey.minimumRSABits)) == 1 else {
                throw .openSSL("EVP_PKEY_CTX_set_rsa_keygen_bits")
            }
        case .ec(let curve):
            guard EVP_PKEY_CTX_set_group_name(context, curve.groupName) == 1 else {
                throw .openSSL("EVP_PKEY_CTX_set_group_name")
            }
        case .ed25519:
            break  // one curve, nothing to choose
        }
        var pkey: OpaquePointer?
        guard EVP_PKEY_generate(context, &pkey) == 1, let pkey else { throw .openSSL("EVP_PKEY_generate") }
        self.init(taking: pkey, kind: kind)
    }

    /// The key a PEM private key (PKCS #8 or traditional, unencrypted) holds: RSA of at least
    /// ``PublicKey/minimumRSABits`` bits, or EC on a JOSE curve.
    ///
    /// An encrypted PEM is refused rather than prompting for a passphrase on the daemon's terminal.
    public convenience init(pem: Secret) throws(CryptoError) {
        let bytes = Array(pem.revealed.utf8)
        let pkey = bytes.withUnsafeBytes { buffer -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(clamping: buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let pkey else { throw .openSSL("PEM_read_bio_PrivateKey") }
        let kind: PublicKey.Kind
        if EVP_PKEY_is_a(pkey, "RSA") == 1, EVP_PKEY_get_bits(pkey) >= Int32(PublicKey.minimumRSABits) {
            kind = .rsa
        } else if EVP_PKEY_is_a(pkey, "EC") == 1, let curve = Self.curve(of: pkey) {
            kind = .ec(curve)
        } else {
            EVP_PKEY_free(pkey)
            throw CryptoError(function: "PrivateKey.init(pem:)", reason: "not an RSA-2048+ or JOSE-curve EC key")
        }
        self.init(taking: pkey, kind: kind)
    }

    private static func curve(of pkey: OpaquePointer) -> EllipticCurve? {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(pkey, &name, name.count, &length) == 1 else {
            ERR_clear_error()
            return nil
        }
        let groupName = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return EllipticCurve.allCases.first { String(cString: $0.groupName) == groupName }
    }

    /// The key as unencrypted PKCS #8 PEM, for the store only (whose files are readable by the daemon's user alone).
    ///
    /// The PEM passes through a secure-heap memory BIO, which OpenSSL wipes when it is freed.
    public func pem() throws(CryptoError) -> Secret {
        guard let bio = BIO_new(BIO_s_secmem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw .openSSL("PEM_write_bio_PrivateKey")
        }
        var bytes = [UInt8](repeating: 0, count: BIO_ctrl_pending(bio))
        let read = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(clamping: $0.count)) }
        guard read == bytes.count else { throw .openSSL("BIO_read") }
        return Secret(String(decoding: bytes, as: UTF8.self))
    }

    /// The public components, as a JWK publishes them.
    public func publicComponents() throws(CryptoError) -> PublicKeyComponents {
        switch kind {
        case .rsa:
            return .rsa(modulus: try bigNumberParameter(relyd_PARAM_RSA_N),
                        exponent: try bigNumberParameter(relyd_PARAM_RSA_E))
        case .ec(let curve):
            var point = [UInt8](repeating: 0, count: 1 + 2 * curve.coordinateLength)
            var length = 0
            guard EVP_PKEY_get_octet_string_param(pkey, relyd_PARAM_PUB_KEY, &point, point.count, &length) == 1 else {
                throw .openSSL("EVP_PKEY_get_octet_string_param")
            }
            guard length == point.count, point[0] == 0x04 else {
                throw CryptoError(function: "PrivateKey.publicComponents", reason: "EC public point is not uncompressed")
            }
            return .ec(curve, x: Array(point[1...curve.coordinateLength]),
                       y: Array(point[(1 + curve.coordinateLength)...]))
        case .ed25519:
            var x = [UInt8](repeating: 0, count: 32)
            var length = x.count
            guard EVP_PKEY_get_raw_public_key(pkey, &x, &length) == 1, length == x.count else {
                throw .openSSL("EVP_PKEY_get_raw_public_key")
            }
            return .ed25519(x: x)
        }
    }

    /// The matching public key, for checking this key's signatures.
    public func publicKey() throws(CryptoError) -> PublicKey {
        switch try publicComponents() {
        case .rsa(let modulus, let exponent): try PublicKey(rsaModulus: modulus, exponent: exponent)
        case .ec(let curve, let x, let y): try PublicKey(curve: curve, x: x, y: y)
        case .ed25519(let x): try PublicKey(ed25519: x)
        }
    }

    private func bigNumberParameter(_ name: UnsafePointer<CChar>) throws(CryptoError) -> [UInt8] {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &number) == 1, let number else {
            throw .openSSL("EVP_PKEY_get_bn_param")
        }
        defer { BN_free(number) }
        var bytes = [UInt8](repeating: 0, count: Int((BN_num_bits(number) + 7) / 8))
        guard BN_bn2bin(number, &bytes) == Int32(bytes.count) else { throw .openSSL("BN_bn2bin") }
        return bytes
    }

    /// A signature of `message` with `scheme`, in the JWS format: for ECDSA the raw `r || s`, each padded to the
    /// curve's coordinate length (RFC 7518 §3.4), converted from OpenSSL's DER.
    ///
    /// - Throws: when the scheme does not fit the key (a caller bug) or OpenSSL fails.
    public func sign(_ message: [UInt8], scheme: SignatureScheme) throws(CryptoError) -> [UInt8] {
        let digest: DigestAlgorithm?
        switch (scheme, kind) {
        case (.rsaPKCS1v15(let algorithm), .rsa), (.rsaPSS(let algorithm), .rsa), (.ecdsa(let algorithm), .ec):
            digest = algorithm
        case (.ed25519, .ed25519):
            digest = nil  // Ed25519 hashes internally and signs in one shot
        default:
            throw CryptoError(function: "PrivateKey.sign", reason: "signature scheme does not fit the key type")
        }
        guard let context = EVP_MD_CTX_new() else { throw .openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestSignInit_ex(context, &keyContext, digest?.openSSLName, nil, nil, pkey, nil) == 1 else {
            throw .openSSL("EVP_DigestSignInit_ex")
        }
        if case .rsaPSS = scheme {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
            else { throw .openSSL("EVP_PKEY_CTX_set_rsa_pss_saltlen") }
        }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else {
            throw .openSSL("EVP_DigestSign")
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else {
            throw .openSSL("EVP_DigestSign")
        }
        signature.removeSubrange(length...)
        if case .ec(let curve) = kind {
            return try rawECDSASignature(der: signature, coordinateLength: curve.coordinateLength)
        }
        return signature
    }
}

extension EllipticCurve {
    /// OpenSSL's group name for the curve, a C literal so OSSL_PARAM builders may keep the pointer.
    fileprivate var groupName: UnsafePointer<CChar> {
        switch self {
        case .p256: relyd_GROUP_P256
        case .p384: relyd_GROUP_P384
        case .p521: relyd_GROUP_P521
        }
    }
}

/// The JWS raw `r || s` from OpenSSL's DER `ECDSA-Sig-Value`, each half left-padded to `coordinateLength`.
private func rawECDSASignature(der: [UInt8], coordinateLength: Int) throws(CryptoError) -> [UInt8] {
    let signature = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
        var cursor = buffer.baseAddress
        return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
    }
    guard let signature else { throw .openSSL("d2i_ECDSA_SIG") }
    defer { ECDSA_SIG_free(signature) }
    var r: OpaquePointer?
    var s: OpaquePointer?
    ECDSA_SIG_get0(signature, &r, &s)
    var raw = [UInt8](repeating: 0, count: 2 * coordinateLength)
    let written = raw.withUnsafeMutableBufferPointer { buffer in
        (BN_bn2binpad(r, buffer.baseAddress, Int32(coordinateLength)),
         BN_bn2binpad(s, buffer.baseAddress.map { $0 + coordinateLength }, Int32(coordinateLength)))
    }
    guard written == (Int32(coordinateLength), Int32(coordinateLength)) else { throw .openSSL("BN_bn2binpad") }
    return raw
}
