#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydProtocol

/// The parts of an OP's discovery document (OpenID Connect Discovery 1.0, section 3) that relyd uses, checked.
public struct ProviderMetadata: Sendable, Equatable {
    public var issuer: String
    public var authorizationEndpoint: URL
    public var tokenEndpoint: URL
    public var jwksURI: URL
    public var userinfoEndpoint: URL?
    public var registrationEndpoint: URL?
    public var endSessionEndpoint: URL?
    public var idTokenSigningAlgValuesSupported: [String]
    public var tokenEndpointAuthMethodsSupported: [String]
    public var codeChallengeMethodsSupported: [String]?
    public var authorizationResponseIssParameterSupported: Bool
    public var introspectionEndpoint: URL?
    public var revocationEndpoint: URL?
    /// The whole document as the OP published it, for `get_discovery` and members relyd does not model.
    public var document: [String: JSONValue]

    /// The discovery URL of an issuer: `/.well-known/openid-configuration` appended to its path (Discovery 4).
    public static func discoveryURL(forIssuer issuer: URL) -> URL {
        var text = issuer.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return URL(string: text + "/.well-known/openid-configuration") ?? issuer
    }

    /// Reads and checks a discovery document.
    ///
    /// - Parameter expectedIssuer: the issuer the document was fetched for; its `issuer` member must equal it
    ///   exactly (Discovery 4.3), or the document could be an attacker's claim to be another OP.
    /// - Throws: `issuer_mismatch`, or `op_response_invalid` naming the member that is missing or invalid.
    public init(document: [String: JSONValue], expectedIssuer: String, http: ProviderHTTPClient) throws {
        func string(_ key: String) throws -> String {
            guard let value = document[key]?.stringValue, !value.isEmpty else {
                throw RelydError(.opResponseInvalid, "the discovery document has no '\(key)'")
            }
            return value
        }
        func endpoint(_ key: String) throws -> URL {
            try http.endpointURL(try string(key), field: key, code: .opResponseInvalid)
        }
        func optionalEndpoint(_ key: String) throws -> URL? {
            guard document[key] != nil, document[key] != .null else { return nil }
            return try endpoint(key)
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = document[key], value != .null else { return nil }
            guard let array = value.arrayValue else {
                throw RelydError(.opResponseInvalid, "the discovery document's '\(key)' is not an array")
            }
            return array.compactMap(\.stringValue)
        }

        let issuer = try string("issuer")
        guard issuer == expectedIssuer else {
            throw RelydError(.issuerMismatch,
                             "the discovery document's issuer '\(RelydError.quoting(issuer))' is not '\(expectedIssuer)'")
        }
        self.issuer = issuer
        authorizationEndpoint = try endpoint("authorization_endpoint")
        tokenEndpoint = try endpoint("token_endpoint")
        jwksURI = try endpoint("jwks_uri")
        userinfoEndpoint = try optionalEndpoint("userinfo_endpoint")
        registrationEndpoint = try optionalEndpoint("registration_endpoint")
        endSessionEndpoint = try optionalEndpoint("end_session_endpoint")
        // Discovery 3 makes this member required; RS256 is the algorithm every OP must support.
        idTokenSigningAlgValuesSupported = try strings("id_token_signing_alg_values_supported") ?? ["RS256"]
        // RFC 8414 2: the default is client_secret_basic.
        tokenEndpointAuthMethodsSupported = try strings("token_endpoint_auth_methods_supported")
            ?? ["client_secret_basic"]
        codeChallengeMethodsSupported = try strings("code_challenge_methods_supported")
        authorizationResponseIssParameterSupported =
            document["authorization_response_iss_parameter_supported"] == .bool(true)
        introspectionEndpoint = try optionalEndpoint("introspection_endpoint")
        revocationEndpoint = try optionalEndpoint("revocation_endpoint")
        self.document = document
    }

    public init(issuer: String, authorizationEndpoint: URL, tokenEndpoint: URL, jwksURI: URL, userinfoEndpoint: URL?,
                registrationEndpoint: URL?, endSessionEndpoint: URL?, idTokenSigningAlgValuesSupported: [String],
                tokenEndpointAuthMethodsSupported: [String], codeChallengeMethodsSupported: [String]?,
                authorizationResponseIssParameterSupported: Bool, introspectionEndpoint: URL? = nil,
                revocationEndpoint: URL? = nil, document: [String: JSONValue] = [:]) {
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.jwksURI = jwksURI
        self.userinfoEndpoint = userinfoEndpoint
        self.registrationEndpoint = registrationEndpoint
        self.endSessionEndpoint = endSessionEndpoint
        self.idTokenSigningAlgValuesSupported = idTokenSigningAlgValuesSupported
        self.tokenEndpointAuthMethodsSupported = tokenEndpointAuthMethodsSupported
        self.codeChallengeMethodsSupported = codeChallengeMethodsSupported
        self.authorizationResponseIssParameterSupported = authorizationResponseIssParameterSupported
        self.introspectionEndpoint = introspectionEndpoint
        self.revocationEndpoint = revocationEndpoint
        self.document = document
    }
}
