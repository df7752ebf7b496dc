#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydHTTP
import RelydProtocol
import RelydStore

/// Dynamic client registration management (RFC 7592): read, update and delete a client at its
/// `registration_client_uri` with its `registration_access_token`.
public enum ClientRegistrationManagement {
    /// Where and how a site's registration can be managed, or nil when the OP gave no management URI and token
    /// (a pre-registered client, or an OP without RFC 7592).
    public struct Handle: Sendable {
        public var clientID: String
        public var uri: URL
        public var accessToken: Secret
    }

    public static func handle(of site: Site, http: ProviderHTTPClient) throws -> Handle? {
        guard site.isDynamicallyRegistered, let uri = site.registrationClientURI,
              let token = site.registrationAccessToken
        else { return nil }
        let url = try http.endpointURL(uri, field: "registration_client_uri", code: .opResponseInvalid)
        return Handle(clientID: site.clientID, uri: url, accessToken: token)
    }

    /// Reads the client's current registration (RFC 7592 2.1), which may carry a rotated secret.
    public static func read(_ handle: Handle, requested: ClientMetadataRequest,
                            http: ProviderHTTPClient) async throws -> RegisteredClient {
        let (answer, _) = try await http.jsonObject(
            HTTPRequest(method: .get, url: handle.uri, headers: headers(handle)), what: "client configuration")
        return try checked(ClientRegistration.parse(answer, requested: requested), handle: handle)
    }

    /// Replaces the client's metadata (RFC 7592 2.2): the full document, with `client_id`, and no secret so that
    /// the OP keeps or rotates it as it sees fit. The answer is what the OP registered.
    public static func update(_ handle: Handle, to request: ClientMetadataRequest,
                              http: ProviderHTTPClient) async throws -> RegisteredClient {
        var document = request.document
        document["client_id"] = .string(handle.clientID)
        let body = try JSONEncoder().encode(JSONValue.object(document))
        let (answer, _) = try await http.jsonObject(
            HTTPRequest(method: .put, url: handle.uri,
                        headers: headers(handle) + [("Content-Type", "application/json")], body: body),
            what: "client update response")
        return try checked(ClientRegistration.parse(answer, requested: request), handle: handle)
    }

    /// Deletes the client at the OP (RFC 7592 2.3). Any 2xx, or a 404 (the OP no longer knows the client), means
    /// it is gone.
    ///
    /// - Throws: `op_error` for another status, or the transport errors of ``ProviderHTTPClient``.
    public static func delete(_ handle: Handle, http: ProviderHTTPClient) async throws {
        let response = try await http.send(HTTPRequest(method: .delete, url: handle.uri, headers: headers(handle)))
        guard (200..<300).contains(response.status) || response.status == 404 else {
            throw ProviderHTTPClient.failure(for: response, what: "client deletion")
        }
    }

    private static func headers(_ handle: Handle) -> [(String, String)] {
        [("Authorization", "Bearer " + handle.accessToken.revealed), ("Accept", "application/json")]
    }

    /// RFC 7592 3: the answer describes the same client; the OP keeps the management URI and token unless it
    /// sends new ones.
    private static func checked(_ client: RegisteredClient, handle: Handle) throws -> RegisteredClient {
        guard client.clientID == handle.clientID else {
            throw RelydError(.opResponseInvalid, "the OP answered for another client_id")
        }
        var client = client
        if client.registrationAccessToken == nil { client.registrationAccessToken = handle.accessToken }
        if client.registrationClientURI == nil { client.registrationClientURI = handle.uri.absoluteString }
        return client
    }
}

extension ClientMetadataRequest {
    /// The metadata a site is registered with, to send again in full (an RFC 7592 update, or a new registration).
    public init(site: Site) {
        self.init(
            redirectURIs: [site.redirectURI], postLogoutRedirectURIs: site.postLogoutRedirectURI.map { [$0] } ?? [],
            responseTypes: site.responseTypes, grantTypes: site.grantTypes, clientName: site.clientName,
            scope: site.scopes, tokenEndpointAuthMethod: site.tokenEndpointAuthMethod,
            idTokenSignedResponseAlg: site.idTokenSignedResponseAlg)
    }
}

extension Site {
    /// Takes what the OP registered: its client id, secret, registration management data and the metadata it may
    /// have changed.
    public mutating func adopt(_ client: RegisteredClient) {
        clientID = client.clientID
        clientSecret = client.clientSecret
        clientSecretExpiresAt = client.clientSecretExpiresAt
        registrationAccessToken = client.registrationAccessToken
        registrationClientURI = client.registrationClientURI
        tokenEndpointAuthMethod = client.tokenEndpointAuthMethod
        idTokenSignedResponseAlg = client.idTokenSignedResponseAlg
        grantTypes = client.grantTypes
        responseTypes = client.responseTypes
    }
}
