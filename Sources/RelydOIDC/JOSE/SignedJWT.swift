#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydCrypto
import RelydProtocol

/// The checks every JWT the OP signs for this client goes through, whatever it carries (ID tokens, logout tokens):
/// parsing, the algorithm policy, key selection, the signature, and the registered claims `iss`, `aud` and `iat`.
/// Kept in one place so that a fix to any of them protects every token type at once.
enum SignedJWT {
    /// Parses a compact JWS; an `alg` relyd does not know fails the algorithm check, anything else is malformed.
    static func parse(_ token: String) throws(IDTokenFailure) -> JWS {
        do {
            return try JWS(compact: token)
        } catch {
            throw IDTokenFailure(error.kind == .unsupportedAlgorithm ? .algorithm : .malformed, error.message)
        }
    }

    /// Verifies the signature before any claim is read. Throws `.unknownKey` when no key of `keys` may have signed
    /// the token (no key with its `kid`, or without a `kid` no key compatible with its `alg`): the caller refetches
    /// the JWKS once on exactly that failure.
    ///
    /// - Parameter acceptingUnsigned: true only for an ID token the token endpoint returned to a site registered
    ///   with `id_token_signed_response_alg` `none`; `alg` `none` must then also be in `allowedAlgorithms`, and the
    ///   signature part must be empty.
    static func verifySignature(_ jws: JWS, allowedAlgorithms: Set<JWSAlgorithm>, clientSecret: String?,
                                keys: JWKSet, acceptingUnsigned: Bool = false) throws(IDTokenFailure) {
        let algorithm = jws.header.algorithm
        guard allowedAlgorithms.contains(algorithm) else {
            throw IDTokenFailure(.algorithm, "alg is not allowed for this client")
        }
        switch algorithm.verification {
        case .unsecured:
            guard acceptingUnsigned, jws.signature.isEmpty else {
                throw IDTokenFailure(.algorithm,
                                     "alg none is accepted only from the token endpoint, by a site registered for it")
            }
        case .hmac(let digest):
            // The MAC key is the client secret and nothing else: never a JWK, so an HS* token cannot be checked with
            // a public key's bytes (algorithm confusion).
            guard let secret = clientSecret, !secret.isEmpty else {
                throw IDTokenFailure(.algorithm, "HMAC alg needs a client secret")
            }
            guard let mac = try? hmac(digest, key: Array(secret.utf8), data: jws.signingInput),
                  constantTimeEquals(mac, jws.signature)
            else { throw IDTokenFailure(.signature, "signature does not verify") }
        case .publicKey(let scheme, _):
            let candidates = keys.candidates(for: jws.header)
            guard !candidates.isEmpty else {
                let kid = jws.header.keyID.map { "'\(RelydError.quoting($0, limit: 64))'" } ?? "none"
                throw IDTokenFailure(.unknownKey,
                                     "no key in the JWKS (\(keys.keys.count) usable) fits kid \(kid) and alg \(jws.header.algorithm.rawValue)")
            }
            guard candidates.contains(where: { key in
                (try? key.publicKey.verify(jws.signature, of: jws.signingInput, scheme: scheme)) == true
            }) else { throw IDTokenFailure(.signature, "signature does not verify") }
        }
    }

    /// `iss`, which must equal `expected` exactly.
    static func issuer(_ claims: [String: JSONValue], expected: String) throws(IDTokenFailure) -> String {
        guard let issuer = claims["iss"]?.stringValue, issuer == expected else {
            throw IDTokenFailure(.issuer, "iss is not the expected issuer")
        }
        return issuer
    }

    /// `aud` as a list (a single string or an array of strings), which must contain `clientID`.
    static func audience(_ claims: [String: JSONValue], clientID: String) throws(IDTokenFailure) -> [String] {
        let audience: [String]? = switch claims["aud"] {
        case .string(let single): [single]
        case .array(let values): values.allSatisfy { $0.stringValue != nil } ? values.compactMap(\.stringValue) : nil
        default: nil
        }
        guard let audience, audience.contains(clientID) else {
            throw IDTokenFailure(.audience, "aud does not contain the client id")
        }
        return audience
    }

    /// `iat`, which must be present and not later than `now` plus the clock skew.
    static func issuedAt(_ claims: [String: JSONValue], now: TimeInterval,
                         clockSkew: TimeInterval) throws(IDTokenFailure) -> TimeInterval {
        guard let issuedAt = seconds(claims["iat"]), issuedAt <= now + clockSkew else {
            throw IDTokenFailure(.issuedAt, "iat is missing, not a whole number, or in the future")
        }
        return issuedAt
    }

    /// A NumericDate claim as seconds since the epoch: a JSON integer or an integral fraction (`1700000000.0`).
    static func seconds(_ value: JSONValue?) -> TimeInterval? {
        value?.int64Value.map(TimeInterval.init)
    }
}
