import Foundation
import RelydBasics

/// A relying-party registration ("site") owned by relyd: one client at one OpenID Provider.
///
/// The client secret and registration access token never leave the daemon: only the store and the calls to the
/// OP read them.
public struct Site: Sendable, Equatable, Codable {
    /// Opaque id handed to the app (`oxd_id` on the wire).
    public var id: String
    /// The issuer URL the site was registered with, exactly as validated against discovery.
    public var opHost: String
    public var clientID: String
    public var clientSecret: Secret?
    /// When the OP will stop accepting the client secret; nil or 0 means never.
    public var clientSecretExpiresAt: Date?
    public var registrationAccessToken: Secret?
    public var registrationClientURI: String?
    public var redirectURI: String
    public var postLogoutRedirectURI: String?
    public var scopes: [String]
    public var clientName: String?
    public var grantTypes: [String]
    public var responseTypes: [String]
    /// `client_secret_basic` or `client_secret_post` (later issues add JWT-based methods).
    public var tokenEndpointAuthMethod: String
    /// The ID-token signing algorithm the OP registered for this client, when known.
    public var idTokenSignedResponseAlg: String?
    /// True when relyd registered the client dynamically (RFC 7591), false for a pre-registered client.
    public var isDynamicallyRegistered: Bool
    public var createdAt: Date

    public init(id: String, opHost: String, clientID: String, clientSecret: Secret?, clientSecretExpiresAt: Date?,
                registrationAccessToken: Secret?, registrationClientURI: String?, redirectURI: String,
                postLogoutRedirectURI: String?, scopes: [String], clientName: String?, grantTypes: [String],
                responseTypes: [String], tokenEndpointAuthMethod: String, idTokenSignedResponseAlg: String?,
                isDynamicallyRegistered: Bool, createdAt: Date) {
        self.id = id
        self.opHost = opHost
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientSecretExpiresAt = clientSecretExpiresAt
        self.registrationAccessToken = registrationAccessToken
        self.registrationClientURI = registrationClientURI
        self.redirectURI = redirectURI
        self.postLogoutRedirectURI = postLogoutRedirectURI
        self.scopes = scopes
        self.clientName = clientName
        self.grantTypes = grantTypes
        self.responseTypes = responseTypes
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.idTokenSignedResponseAlg = idTokenSignedResponseAlg
        self.isDynamicallyRegistered = isDynamicallyRegistered
        self.createdAt = createdAt
    }
}

/// An authorization request that relyd sent the user to and that has not come back yet.
///
/// It is keyed by its `state` and can be redeemed exactly once, before `expiresAt`.
public struct PendingAuthorization: Sendable, Equatable, Codable {
    public var state: Secret
    public var siteID: String
    public var nonce: Secret
    public var codeVerifier: Secret
    public var redirectURI: String
    /// `max_age` sent with the request, if any; then `auth_time` must be checked.
    public var maxAge: Int?
    /// `acr_values` sent with the request, if any.
    public var acrValues: [String]?
    public var createdAt: Date
    public var expiresAt: Date

    public init(state: Secret, siteID: String, nonce: Secret, codeVerifier: Secret, redirectURI: String,
                maxAge: Int?, acrValues: [String]?, createdAt: Date, expiresAt: Date) {
        self.state = state
        self.siteID = siteID
        self.nonce = nonce
        self.codeVerifier = codeVerifier
        self.redirectURI = redirectURI
        self.maxAge = maxAge
        self.acrValues = acrValues
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// What an ID token obtained through `get_tokens_by_code` said about the user, remembered so that a later
/// `get_user_info` with the same access token can check that the userinfo `sub` matches.
public struct TokenBinding: Sendable, Equatable, Codable {
    /// SHA-256 of the access token, hex; the token itself is never stored.
    public var accessTokenHash: String
    public var siteID: String
    public var subject: String
    public var expiresAt: Date

    public init(accessTokenHash: String, siteID: String, subject: String, expiresAt: Date) {
        self.accessTokenHash = accessTokenHash
        self.siteID = siteID
        self.subject = subject
        self.expiresAt = expiresAt
    }
}

extension Secret: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(revealed)
    }
}
