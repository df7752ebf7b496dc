#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydProtocol
import RelydStore

/// How a site proves itself at the OP's token endpoint (OpenID Connect Core 9).
public enum ClientAuthentication: Sendable, Equatable {
    /// HTTP Basic with the form-urlencoded client id and secret as user and password (RFC 6749 2.3.1).
    case clientSecretBasic(clientID: String, secret: Secret)
    /// The client id and secret as form parameters.
    case clientSecretPost(clientID: String, secret: Secret)
    /// A short-lived HS256 JWT keyed with the client secret (RFC 7523 2.2); the secret itself is never sent.
    case clientSecretJWT(clientID: String, secret: Secret)
    /// A short-lived JWT signed with the site's own private key (RFC 7523 2.2); no shared secret exists.
    case privateKeyJWT(clientID: String, key: SiteSigningKey)

    /// The methods relyd can perform today.
    public static let supportedMethods = ["client_secret_basic", "client_secret_post", "client_secret_jwt",
                                          "private_key_jwt"]

    /// RFC 7523 2.2: the `client_assertion_type` of a JWT client assertion.
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// How long an assertion is valid: long enough for one request, short enough that a captured one is worthless.
    static let assertionLifetime: TimeInterval = 60

    /// The authentication a stored site uses.
    ///
    /// - Throws: `internal_error` when the stored site lacks its secret or key (the store was edited by hand).
    public init(site: Site) throws {
        if site.tokenEndpointAuthMethod == "private_key_jwt" {
            guard let key = try SiteSigningKey(site: site) else {
                throw RelydError(.internalError, RelydError.internalErrorMessage)
            }
            self = .privateKeyJWT(clientID: site.clientID, key: key)
            return
        }
        guard let secret = site.clientSecret else {
            throw RelydError(.internalError, RelydError.internalErrorMessage)
        }
        switch site.tokenEndpointAuthMethod {
        case "client_secret_post": self = .clientSecretPost(clientID: site.clientID, secret: secret)
        case "client_secret_jwt": self = .clientSecretJWT(clientID: site.clientID, secret: secret)
        default: self = .clientSecretBasic(clientID: site.clientID, secret: secret)
        }
    }

    /// Adds the credentials to a request's headers and form.
    ///
    /// `tokenEndpoint` is the audience of JWT assertions (OpenID Connect Core 9 names the token endpoint, also when
    /// the request goes to another endpoint of the OP); `environment` gives the assertion its time and `jti`. A
    /// site key's signature (RSA-2048: about 0.35 ms) is made on the ``ComputePool``.
    func apply(headers: inout [(String, String)], form: inout [(String, String)], tokenEndpoint: URL,
               environment: OIDCEnvironment) async throws {
        switch self {
        case .clientSecretBasic(let clientID, let secret):
            let credentials = FormEncoding.escape(clientID) + ":" + FormEncoding.escape(secret.revealed)
            headers.append(("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString()))
        case .clientSecretPost(let clientID, let secret):
            form += [("client_id", clientID), ("client_secret", secret.revealed)]
        case .clientSecretJWT(let clientID, let secret):
            form += try Self.assertionFields(clientID: clientID, key: .hmacSHA256(secret), audience: tokenEndpoint,
                                             environment: environment)
        case .privateKeyJWT(let clientID, let key):
            form += try await ComputePool.run {
                try Self.assertionFields(clientID: clientID, key: .site(key), audience: tokenEndpoint,
                                         environment: environment)
            }
        }
    }

    /// The `client_id`, `client_assertion_type` and `client_assertion` form fields (RFC 7523 3, OpenID Connect
    /// Core 9): `iss` and `sub` the client id, `aud` the token endpoint, a 128-bit random `jti`, `iat` now, `exp` a
    /// minute later. `client_id` is optional by RFC 7521 4.2, but some OPs (Glewlwyd) refuse an assertion without it.
    private static func assertionFields(clientID: String, key: JWSSigningKey, audience: URL,
                                        environment: OIDCEnvironment) throws -> [(String, String)] {
        let now = Int64(environment.clock.now().timeIntervalSince1970)
        let claims: [String: JSONValue] = [
            "iss": .string(clientID), "sub": .string(clientID), "aud": .string(audience.absoluteString),
            "jti": .string(Base64URL.encode(try environment.random.bytes(16))),
            "iat": .integer(now), "exp": .integer(now + Int64(assertionLifetime)),
        ]
        return [("client_id", clientID), ("client_assertion_type", assertionType),
                ("client_assertion", try JWS.compact(claims: claims, signedWith: key))]
    }

    /// The HMAC key for HS256/384/512 ID tokens (OpenID Connect Core 10.1).
    var sharedSecret: String? {
        switch self {
        case .clientSecretBasic(_, let secret), .clientSecretPost(_, let secret), .clientSecretJWT(_, let secret):
            secret.revealed
        case .privateKeyJWT:
            nil
        }
    }
}
