#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydCrypto
import RelydProtocol

/// What the relying party expects of an ID token, from its registration and the authentication request.
public struct IDTokenExpectations: Sendable {
    /// `iss` must equal this exactly (no normalisation, no trailing-slash tolerance).
    public var issuer: String
    /// `aud` must contain this. With several audiences `azp` is required; when present `azp` must equal it.
    public var clientID: String
    /// When non-nil, the token's `nonce` must be present and equal (compared in constant time).
    public var nonce: String?
    /// The header `alg` must be one of these. `none` is refused even when listed, unless ``acceptsUnsigned``.
    public var allowedAlgorithms: Set<JWSAlgorithm>
    /// Whether an unsigned token (`alg` `none`, listed in ``allowedAlgorithms``) is acceptable: only when it came
    /// straight from the token endpoint over TLS to a site that registered `none` (Core 3.1.3.7 step 6), never for a
    /// token an app hands in.
    public var acceptsUnsigned: Bool
    /// The HMAC key for HS256/384/512 (its UTF-8 bytes, OIDC Core §10.1). HS* is refused when nil or empty.
    public var clientSecret: String?
    /// When non-nil and the token has `at_hash`, `at_hash` must match this access token.
    public var accessToken: String?
    /// When non-nil, `auth_time` is required and must be no older than `maxAge` seconds (plus ``clockSkew``).
    public var maxAge: Int?
    /// When non-nil and non-empty, `acr` is required and must be one of these.
    public var acrValues: [String]?
    public var now: Date
    /// Tolerance for clock differences with the OP, applied to `exp`, `iat`, `nbf` and `auth_time`.
    public var clockSkew: TimeInterval

    public init(issuer: String, clientID: String, nonce: String? = nil, allowedAlgorithms: Set<JWSAlgorithm>,
                clientSecret: String? = nil, accessToken: String? = nil, maxAge: Int? = nil,
                acrValues: [String]? = nil, now: Date, clockSkew: TimeInterval = 60, acceptsUnsigned: Bool = false) {
        self.issuer = issuer
        self.clientID = clientID
        self.nonce = nonce
        self.allowedAlgorithms = allowedAlgorithms
        self.clientSecret = clientSecret
        self.accessToken = accessToken
        self.maxAge = maxAge
        self.acrValues = acrValues
        self.now = now
        self.clockSkew = clockSkew
        self.acceptsUnsigned = acceptsUnsigned
    }
}

/// Why an ID token, or another JWT the OP signs for the client (a logout token), was rejected. ``check`` is the
/// stable part; ``message`` names the failed check for logs and never contains the token, a claim value or key
/// material.
public struct IDTokenFailure: Error, Sendable, Equatable {
    public enum Check: String, Sendable {
        case malformed, algorithm, unknownKey, signature, issuer, audience, authorizedParty, expired, notYetValid,
             issuedAt, subject, nonce, accessTokenHash, authTime, acr
        /// Logout tokens only: `jti` missing, or already seen (a replay).
        case tokenID, replayed
        /// Logout tokens only: `events` lacks the back-channel logout event.
        case events
    }

    public var check: Check
    public var message: String

    public init(_ check: Check, _ message: String) {
        self.check = check
        self.message = message
    }
}

/// An ID token whose signature and claims passed every check.
public struct ValidatedIDToken: Sendable {
    public let claims: [String: JSONValue]
    public let subject: String
    public let issuer: String
    public let expiresAt: Date
    public let header: JWSHeader
}

/// ID token validation as OpenID Connect Core 1.0 §3.1.3.7 (and §3.2.2.9 for `at_hash`) requires.
public enum IDTokenValidator {
    /// Validates `token` against `expectations` with the OP's `keys`.
    ///
    /// The signature is verified before any claim is read. Throws `.unknownKey` when no key of `keys` may have signed
    /// the token (no key with its `kid`, or without a `kid` no key compatible with its `alg`): the caller refetches the
    /// JWKS once on exactly that failure.
    public static func validate(_ token: String, expectations: IDTokenExpectations,
                                keys: JWKSet) throws(IDTokenFailure) -> ValidatedIDToken {
        let jws = try SignedJWT.parse(token)
        try SignedJWT.verifySignature(jws, allowedAlgorithms: expectations.allowedAlgorithms,
                                      clientSecret: expectations.clientSecret, keys: keys,
                                      acceptingUnsigned: expectations.acceptsUnsigned)
        return try checkClaims(jws, expectations: expectations)
    }

    private static func checkClaims(_ jws: JWS, expectations: IDTokenExpectations) throws(IDTokenFailure)
        -> ValidatedIDToken
    {
        let claims = jws.payload
        let now = expectations.now.timeIntervalSince1970
        let skew = expectations.clockSkew

        let issuer = try SignedJWT.issuer(claims, expected: expectations.issuer)
        let audience = try SignedJWT.audience(claims, clientID: expectations.clientID)
        switch claims["azp"] {
        case nil:
            guard audience.count == 1 else { throw IDTokenFailure(.authorizedParty, "several aud values and no azp") }
        case .string(let party) where party == expectations.clientID:
            break
        default:
            throw IDTokenFailure(.authorizedParty, "azp is not the client id")
        }

        guard let expiry = SignedJWT.seconds(claims["exp"]), now < expiry + skew else {
            throw IDTokenFailure(.expired, "exp is missing, not a whole number, or past")
        }
        _ = try SignedJWT.issuedAt(claims, now: now, clockSkew: skew)
        if let notBefore = claims["nbf"] {
            guard let notBefore = SignedJWT.seconds(notBefore), notBefore <= now + skew else {
                throw IDTokenFailure(.notYetValid, "nbf is not a whole number or in the future")
            }
        }

        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else {
            throw IDTokenFailure(.subject, "sub is missing or empty")
        }

        if let expected = expectations.nonce {
            guard let nonce = claims["nonce"]?.stringValue,
                  constantTimeEquals(Array(nonce.utf8), Array(expected.utf8))
            else { throw IDTokenFailure(.nonce, "nonce is missing or does not match the request") }
        }

        if let acrValues = expectations.acrValues, !acrValues.isEmpty {
            guard let acr = claims["acr"]?.stringValue, acrValues.contains(acr) else {
                throw IDTokenFailure(.acr, "acr is missing or not one of the requested values")
            }
        }

        switch (claims["auth_time"], expectations.maxAge) {
        case (nil, nil):
            break
        case (nil, _?):
            throw IDTokenFailure(.authTime, "auth_time is missing but max_age was requested")
        case (let value?, let maxAge):
            guard let authTime = SignedJWT.seconds(value) else {
                throw IDTokenFailure(.authTime, "auth_time is not a whole number")
            }
            if let maxAge, now - authTime > Double(maxAge) + skew {
                throw IDTokenFailure(.authTime, "auth_time is older than max_age allows")
            }
        }

        if let accessToken = expectations.accessToken, let claimed = claims["at_hash"] {
            guard let claimed = claimed.stringValue,
                  let expected = tokenHash(accessToken, algorithm: jws.header.algorithm),
                  constantTimeEquals(Array(claimed.utf8), Array(expected.utf8))
            else { throw IDTokenFailure(.accessTokenHash, "at_hash does not match the access token") }
        }

        return ValidatedIDToken(claims: claims, subject: subject, issuer: issuer,
                                expiresAt: Date(timeIntervalSince1970: expiry), header: jws.header)
    }

    /// `at_hash`/`c_hash` of `value`: base64url of the left half of its hash under the alg's hash (Core §3.1.3.6).
    private static func tokenHash(_ value: String, algorithm: JWSAlgorithm) -> String? {
        guard let hashAlgorithm = algorithm.tokenHashAlgorithm,
              let full = try? digest(hashAlgorithm, Array(value.utf8))
        else { return nil }
        return Base64URL.encode(Array(full.prefix(full.count / 2)))
    }
}
