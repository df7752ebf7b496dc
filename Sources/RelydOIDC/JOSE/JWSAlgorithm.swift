import RelydCrypto

/// The JWS `alg` values relyd recognises (RFC 7518 §3.1, RFC 8037 for EdDSA).
///
/// `none` is recognised so that it can be refused by name; only an ID token from the token endpoint of a site that
/// registered `none` may use it (see ``IDTokenExpectations/acceptsUnsigned``).
public enum JWSAlgorithm: String, Sendable, Hashable, CaseIterable {
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"
    case edDSA = "EdDSA"
    case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"
    case none

    /// How a signature made with an algorithm is checked.
    enum Verification {
        /// With a MAC under a shared secret: the client secret, never a JWK.
        case hmac(DigestAlgorithm)
        /// With a public key of exactly this kind (type and curve) and this scheme.
        case publicKey(SignatureScheme, PublicKey.Kind)
        /// Not at all; always refused.
        case unsecured
    }

    /// The one table from algorithm to verification; everything else derives from it.
    var verification: Verification {
        switch self {
        case .rs256: .publicKey(.rsaPKCS1v15(.sha256), .rsa)
        case .rs384: .publicKey(.rsaPKCS1v15(.sha384), .rsa)
        case .rs512: .publicKey(.rsaPKCS1v15(.sha512), .rsa)
        case .ps256: .publicKey(.rsaPSS(.sha256), .rsa)
        case .ps384: .publicKey(.rsaPSS(.sha384), .rsa)
        case .ps512: .publicKey(.rsaPSS(.sha512), .rsa)
        case .es256: .publicKey(.ecdsa(.sha256), .ec(.p256))
        case .es384: .publicKey(.ecdsa(.sha384), .ec(.p384))
        case .es512: .publicKey(.ecdsa(.sha512), .ec(.p521))
        case .edDSA: .publicKey(.ed25519, .ed25519)
        case .hs256: .hmac(.sha256)
        case .hs384: .hmac(.sha384)
        case .hs512: .hmac(.sha512)
        case .none: .unsecured
        }
    }

    /// The hash OpenID Connect uses for `at_hash` and `c_hash` with this algorithm (Core §3.1.3.6, §3.3.2.11):
    /// the hash of the `alg`, and SHA-512 for EdDSA with Ed25519 (Core errata set 2). `nil` for `none`.
    public var tokenHashAlgorithm: DigestAlgorithm? {
        switch verification {
        case .hmac(let digest), .publicKey(.rsaPKCS1v15(let digest), _), .publicKey(.rsaPSS(let digest), _),
             .publicKey(.ecdsa(let digest), _):
            digest
        case .publicKey(.ed25519, _):
            .sha512
        case .unsecured:
            nil
        }
    }
}
