#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydHTTP
import RelydProtocol

/// Client metadata sent to an OP's registration endpoint (RFC 7591 section 2).
public struct ClientMetadataRequest: Sendable, Equatable {
    public var redirectURIs: [String]
    public var postLogoutRedirectURIs: [String]
    public var responseTypes: [String]
    public var grantTypes: [String]
    public var clientName: String?
    public var scope: [String]
    public var tokenEndpointAuthMethod: String
    public var idTokenSignedResponseAlg: String?
    /// The client's public keys by value (RFC 7591 `jwks`), for `private_key_jwt`.
    public var jwks: [String: JSONValue]?

    public init(redirectURIs: [String], postLogoutRedirectURIs: [String], responseTypes: [String],
                grantTypes: [String], clientName: String?, scope: [String], tokenEndpointAuthMethod: String,
                idTokenSignedResponseAlg: String?, jwks: [String: JSONValue]? = nil) {
        self.redirectURIs = redirectURIs
        self.postLogoutRedirectURIs = postLogoutRedirectURIs
        self.responseTypes = responseTypes
        self.grantTypes = grantTypes
        self.clientName = clientName
        self.scope = scope
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.idTokenSignedResponseAlg = idTokenSignedResponseAlg
        self.jwks = jwks
    }

    var document: [String: JSONValue] {
        var document: [String: JSONValue] = [
            "redirect_uris": .array(redirectURIs.map(JSONValue.string)),
            "response_types": .array(responseTypes.map(JSONValue.string)),
            "grant_types": .array(grantTypes.map(JSONValue.string)),
            "scope": .string(scope.joined(separator: " ")),
            "token_endpoint_auth_method": .string(tokenEndpointAuthMethod),
            "application_type": .string("web"),
        ]
        if !postLogoutRedirectURIs.isEmpty {
            document["post_logout_redirect_uris"] = .array(postLogoutRedirectURIs.map(JSONValue.string))
        }
        if let clientName { document["client_name"] = .string(clientName) }
        if let idTokenSignedResponseAlg { document["id_token_signed_response_alg"] = .string(idTokenSignedResponseAlg) }
        if let jwks { document["jwks"] = .object(jwks) }
        return document
    }
}

/// What the OP registered (RFC 7591 section 3.2.1). The OP may change requested metadata; what it answers wins.
public struct RegisteredClient: Sendable, Equatable {
    public var clientID: String
    public var clientSecret: Secret?
    /// nil when the secret never expires (`client_secret_expires_at` absent or 0).
    public var clientSecretExpiresAt: Date?
    public var registrationAccessToken: Secret?
    public var registrationClientURI: String?
    public var tokenEndpointAuthMethod: String
    public var idTokenSignedResponseAlg: String?
    public var grantTypes: [String]
    public var responseTypes: [String]

    public init(clientID: String, clientSecret: Secret?, clientSecretExpiresAt: Date?,
                registrationAccessToken: Secret?, registrationClientURI: String?, tokenEndpointAuthMethod: String,
                idTokenSignedResponseAlg: String?, grantTypes: [String], responseTypes: [String]) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientSecretExpiresAt = clientSecretExpiresAt
        self.registrationAccessToken = registrationAccessToken
        self.registrationClientURI = registrationClientURI
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.idTokenSignedResponseAlg = idTokenSignedResponseAlg
        self.grantTypes = grantTypes
        self.responseTypes = responseTypes
    }
}

/// Dynamic client registration (RFC 7591).
public enum ClientRegistration {
    /// Registers a client at the OP's registration endpoint.
    ///
    /// - Throws: `op_error` when the OP has no registration endpoint or refuses, `op_response_invalid` when its
    ///   answer lacks what RFC 7591 requires (a `client_id`; a `client_secret` for secret-based authentication).
    public static func register(_ request: ClientMetadataRequest, at provider: ProviderMetadata,
                                http: ProviderHTTPClient) async throws -> RegisteredClient {
        guard let endpoint = provider.registrationEndpoint else {
            throw RelydError(.opUnsupported,
                             "the OP offers no dynamic registration; register the client there and pass client_id and client_secret")
        }
        let body = try JSONEncoder().encode(JSONValue.object(request.document))
        let (answer, _) = try await http.jsonObject(
            HTTPRequest(method: .post, url: endpoint,
                        headers: [("Content-Type", "application/json"), ("Accept", "application/json")], body: body),
            what: "registration response")
        return try parse(answer, requested: request)
    }

    /// - Throws: `op_response_invalid` for an answer without a `client_id`, without a secret for secret-based
    ///   authentication, or registering unsigned ID tokens (`none`) that were not requested.
    static func parse(_ answer: [String: JSONValue], requested: ClientMetadataRequest) throws -> RegisteredClient {
        guard let clientID = answer["client_id"]?.stringValue, !clientID.isEmpty else {
            throw RelydError(.opResponseInvalid, "the registration response has no 'client_id'")
        }
        let method = answer["token_endpoint_auth_method"]?.stringValue ?? requested.tokenEndpointAuthMethod
        let secret = answer["client_secret"]?.stringValue.map(Secret.init)
        if secret == nil && method.hasPrefix("client_secret") {
            throw RelydError(.opResponseInvalid, "the registration response has no 'client_secret' for \(method)")
        }
        let idTokenAlgorithm = answer["id_token_signed_response_alg"]?.stringValue ?? requested.idTokenSignedResponseAlg
        // Unsigned ID tokens only ever by the app's choice, never because an OP's answer (to a registration, an
        // update or a renewal) says so.
        if idTokenAlgorithm == JWSAlgorithm.none.rawValue
            && requested.idTokenSignedResponseAlg != JWSAlgorithm.none.rawValue {
            throw RelydError(.opResponseInvalid, "the OP registered unsigned ID tokens, which were not asked for")
        }
        let expiresAt = answer["client_secret_expires_at"]?.int64Value.flatMap { seconds in
            seconds == 0 ? nil : Date(timeIntervalSince1970: TimeInterval(seconds))
        }
        return RegisteredClient(
            clientID: clientID,
            clientSecret: secret,
            clientSecretExpiresAt: expiresAt,
            registrationAccessToken: answer["registration_access_token"]?.stringValue.map(Secret.init),
            registrationClientURI: answer["registration_client_uri"]?.stringValue,
            tokenEndpointAuthMethod: method,
            idTokenSignedResponseAlg: idTokenAlgorithm,
            grantTypes: answer["grant_types"]?.arrayValue?.compactMap(\.stringValue) ?? requested.grantTypes,
            responseTypes: answer["response_types"]?.arrayValue?.compactMap(\.stringValue) ?? requested.responseTypes)
    }
}
