import Foundation
import FuzzSupport
import RelydBasics
@testable import RelydOIDC
import RelydHTTP
import RelydProtocol

/// One HTTP response body from a hostile OP, read by every parser of OP answers relyd has: the discovery document
/// (checked against its own `issuer`, so that the fuzzer gets past the issuer check, and against a fixed one), the
/// JWKS, the token response, the registration response, the userinfo response and an OAuth error answer. The body
/// reaches them through ``ProviderHTTPClient`` as the real daemon's bodies do.
///
/// Invariants: an OP answer only ever fails as a `RelydError` with an OP-related code, never as `internal_error` or
/// any other error type; the endpoints of an accepted discovery document stay within the URL policy.
let fuzzedURL = URL(string: "https://op.example/endpoint")!

/// Answers every request with the fuzzed body.
struct FuzzedBodyTransport: HTTPTransport {
    let response: HTTPResponse
    func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse { response }
}

let registrationRequest = ClientMetadataRequest(
    redirectURIs: ["https://rp.example/callback"], postLogoutRedirectURIs: [], responseTypes: ["code"],
    grantTypes: ["authorization_code"], clientName: nil, scope: ["openid"],
    tokenEndpointAuthMethod: "client_secret_basic", idTokenSignedResponseAlg: nil)

let expectedCodes: Set<ErrorCode> = [.opResponseInvalid, .opError, .issuerMismatch, .userInfoInvalid, .opUnsupported]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOPResponses(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Data(Fuzz.bytes(data, size))
    let jsonResponse = HTTPResponse(status: 200, headers: ["content-type": "application/json"], body: body)
    let http = ProviderHTTPClient(transport: FuzzedBodyTransport(response: jsonResponse), allowHTTPLoopback: true)

    _ = try? JWKSet(json: body)
    _ = ProviderHTTPClient.failure(for: HTTPResponse(status: 400, body: body), what: "token response")
    Fuzz.wait {
        await expectOPFailure {
            let (document, _) = try await http.jsonObject(HTTPRequest(url: fuzzedURL), what: "discovery document")
            _ = try? ProviderMetadata(document: document, expectedIssuer: "https://op.example", http: http)
            let ownIssuer = document["issuer"]?.stringValue ?? ""
            let metadata = try ProviderMetadata(document: document, expectedIssuer: ownIssuer, http: http)
            checkURLPolicy(of: metadata, http: http)
            _ = try await ClientRegistration.register(registrationRequest, at: metadata, http: http)
        }
        await expectOPFailure {
            let (object, _) = try await http.jsonObject(HTTPRequest(url: fuzzedURL), what: "token response")
            let tokens = try TokenResponse(object)
            _ = tokens.expiresAt(issuedAt: Date(timeIntervalSince1970: 1_700_000_000))
        }
        await expectOPFailure {
            let (object, _) = try await http.jsonObject(HTTPRequest(url: fuzzedURL), what: "registration response")
            _ = try ClientRegistration.parse(object, requested: registrationRequest)
        }
        await expectOPFailure {
            let endpoints = ProviderEndpoints(issuer: "https://op.example", authorizationEndpoint: fuzzedURL,
                                              tokenEndpoint: fuzzedURL, userinfoEndpoint: fuzzedURL)
            _ = try await UserInfo.fetch(accessToken: Secret("access-token"), expectedSubject: "alice",
                                         endpoints: endpoints, http: http, verifySigned: nil)
        }
    }
    return 0
}

/// Every endpoint relyd will call passes the URL policy again when read back as text, as it is when stored and
/// handed to libcurl: a URL that only looked acceptable while parsed would be a way around the policy.
func checkURLPolicy(of metadata: ProviderMetadata, http: ProviderHTTPClient) {
    let endpoints = [metadata.authorizationEndpoint, metadata.tokenEndpoint, metadata.jwksURI] + [
        metadata.userinfoEndpoint, metadata.registrationEndpoint, metadata.endSessionEndpoint,
        metadata.introspectionEndpoint, metadata.revocationEndpoint,
    ].compactMap { $0 }
    for endpoint in endpoints {
        let readBack = try? http.endpointURL(endpoint.absoluteString, field: "endpoint", code: .opResponseInvalid)
        guard readBack != nil else {
            Fuzz.fail("an endpoint passed the URL policy but fails it read back: \(endpoint.absoluteString)")
        }
    }
}

/// Runs `parse`, which may succeed or fail, but only with an error an OP's answer can legitimately cause.
func expectOPFailure(_ parse: () async throws -> Void) async {
    do {
        try await parse()
    } catch let error as RelydError {
        guard expectedCodes.contains(error.code) else { Fuzz.fail("OP answer failed with \(error.code.rawValue)") }
    } catch {
        Fuzz.fail("OP answer failed with an untyped error: \(error)")
    }
}
