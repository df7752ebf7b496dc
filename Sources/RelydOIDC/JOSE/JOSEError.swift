/// Why a JOSE object (compact JWS, JWK, JWK set) could not be used. The message names the problem and never
/// repeats the input, which may be a token or key material.
public struct JOSEError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The object does not follow RFC 7515/7517 (parts, base64url, JSON shape, `crit`).
        case malformed
        /// The `alg` is not one relyd recognises.
        case unsupportedAlgorithm
        /// A JWK of an unsupported type or curve, or whose parameters do not make a usable key.
        case unusableKey
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
