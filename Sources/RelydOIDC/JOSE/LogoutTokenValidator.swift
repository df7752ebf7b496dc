#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydProtocol

/// What the relying party expects of a logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6).
public struct LogoutTokenExpectations: Sendable {
    /// `iss` must equal this exactly.
    public var issuer: String
    /// `aud` must contain this.
    public var clientID: String
    /// The header `alg` must be one of these; `none` is refused even when listed.
    public var allowedAlgorithms: Set<JWSAlgorithm>
    /// The HMAC key for HS256/384/512; HS* is refused when nil or empty.
    public var clientSecret: String?
    public var now: Date
    /// Tolerance for clock differences with the OP, applied to `iat` and `exp`.
    public var clockSkew: TimeInterval
    /// How old (by `iat`) a token may be. Bounds how long a `jti` must be remembered to refuse its replay.
    public var maximumAge: TimeInterval

    public init(issuer: String, clientID: String, allowedAlgorithms: Set<JWSAlgorithm>, clientSecret: String? = nil,
                now: Date, clockSkew: TimeInterval = 60, maximumAge: TimeInterval = 300) {
        self.issuer = issuer
        self.clientID = clientID
        self.allowedAlgorithms = allowedAlgorithms
        self.clientSecret = clientSecret
        self.now = now
        self.clockSkew = clockSkew
        self.maximumAge = maximumAge
    }
}

/// A logout token whose signature and claims passed every check (the `jti` replay check is the caller's).
public struct ValidatedLogoutToken: Sendable, Equatable {
    public let issuer: String
    public let subject: String?
    public let sessionID: String?
    public let tokenID: String
    /// The last moment the token is acceptable: its `exp` or `iat` plus the maximum age, whichever is earlier, plus
    /// the clock skew. Its `jti` must be remembered until then.
    public let acceptableUntil: Date
}

/// Logout token validation as OpenID Connect Back-Channel Logout 1.0 section 2.6 requires; the steps shared with
/// ID tokens (parse, algorithm, key, signature, `iss`, `aud`, `iat`) are ``SignedJWT``'s.
public enum LogoutTokenValidator {
    /// The member of `events` that makes a JWT a back-channel logout token (section 2.4).
    public static let backChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

    /// Validates `token` against `expectations` with the OP's `keys`. Throws `.unknownKey` exactly as
    /// ``IDTokenValidator/validate(_:expectations:keys:)`` does, so the caller can refetch the JWKS.
    public static func validate(_ token: String, expectations: LogoutTokenExpectations,
                                keys: JWKSet) throws(IDTokenFailure) -> ValidatedLogoutToken {
        let jws = try SignedJWT.parse(token)
        try SignedJWT.verifySignature(jws, allowedAlgorithms: expectations.allowedAlgorithms,
                                      clientSecret: expectations.clientSecret, keys: keys)
        let claims = jws.payload
        let now = expectations.now.timeIntervalSince1970
        let skew = expectations.clockSkew

        let issuer = try SignedJWT.issuer(claims, expected: expectations.issuer)
        _ = try SignedJWT.audience(claims, clientID: expectations.clientID)
        let issuedAt = try SignedJWT.issuedAt(claims, now: now, clockSkew: skew)
        var acceptableUntil = issuedAt + expectations.maximumAge + skew
        guard now <= acceptableUntil else {
            throw IDTokenFailure(.issuedAt, "iat is older than the maximum age of a logout token")
        }
        if let value = claims["exp"] {
            guard let expiry = SignedJWT.seconds(value), now < expiry + skew else {
                throw IDTokenFailure(.expired, "exp is not a whole number or past")
            }
            acceptableUntil = min(acceptableUntil, expiry + skew)
        }

        guard let tokenID = claims["jti"]?.stringValue, !tokenID.isEmpty else {
            throw IDTokenFailure(.tokenID, "jti is missing or empty")
        }
        guard claims["events"]?.objectValue?[backChannelLogoutEvent]?.objectValue != nil else {
            throw IDTokenFailure(.events, "events has no back-channel logout member whose value is a JSON object")
        }

        let subject = try optionalIdentifier(claims, "sub")
        let sessionID = try optionalIdentifier(claims, "sid")
        guard subject != nil || sessionID != nil else {
            throw IDTokenFailure(.subject, "neither sub nor sid is present")
        }
        // A nonce would let a logout token pass for an ID token (section 2.4 prohibits it).
        guard claims["nonce"] == nil else {
            throw IDTokenFailure(.nonce, "a logout token must not contain a nonce")
        }
        return ValidatedLogoutToken(issuer: issuer, subject: subject, sessionID: sessionID, tokenID: tokenID,
                                    acceptableUntil: Date(timeIntervalSince1970: acceptableUntil))
    }

    /// `sub` or `sid`: absent, or a non-empty string.
    private static func optionalIdentifier(_ claims: [String: JSONValue],
                                           _ name: String) throws(IDTokenFailure) -> String? {
        guard let value = claims[name] else { return nil }
        guard let string = value.stringValue, !string.isEmpty else {
            throw IDTokenFailure(.subject, "\(name) is not a non-empty string")
        }
        return string
    }
}
