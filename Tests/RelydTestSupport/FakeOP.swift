import Foundation
import RelydBasics
import RelydCrypto
import RelydHTTP
import RelydOIDC
import RelydProtocol

/// An OpenID Provider simulated inside the test process, reached through the `HTTPTransport` the engine is given.
///
/// It serves discovery, JWKS, dynamic registration, the token endpoint (checking client authentication, the
/// redirect URI and the PKCE verifier like a strict OP) and userinfo. ID tokens are signed HS256 with the
/// client's secret unless ``idTokenSigner`` is set, so no private key is needed in Swift. Tests change its
/// behaviour through the `var`s, or replace any endpoint's answer with ``override(path:_:)``.
public final class FakeOP: HTTPTransport, @unchecked Sendable {
    public struct Client: Sendable {
        public var secret: String
        public var redirectURIs: [String]
        public var authMethod: String
    }

    struct Grant {
        var clientID: String
        var redirectURI: String
        var codeChallenge: String
        var nonce: String?
        var subject: String
    }

    public let issuer: String
    // Invariant: every stored property below is read and written only under `lock`.
    private let lock = NSLock()
    private var clients: [String: Client] = [:]
    private var grants: [String: Grant] = [:]
    private var accessTokens: [String: String] = [:]
    private var overrides: [String: @Sendable (HTTPRequest) throws(HTTPTransportError) -> HTTPResponse] = [:]
    private var counter = 0
    private var log: [HTTPRequest] = []
    /// Changes applied to every ID token's claims just before signing.
    public var idTokenClaimEdits: (@Sendable (inout [String: JSONValue]) -> Void)?
    /// Signs ID tokens instead of HS256 with the client's secret, for an OP with asymmetric keys (the benchmark's).
    public var idTokenSigner: (@Sendable ([String: JSONValue]) throws -> String)?
    /// Changes applied to the discovery document.
    public var discoveryEdits: (@Sendable (inout [String: JSONValue]) -> Void)?
    /// The `sub` the userinfo endpoint reports; nil means the subject the token was issued to.
    public var userInfoSubject: String?

    private let clock: any WallClock

    public init(issuer: String = "https://op.example", clock: any WallClock = SystemWallClock()) {
        self.issuer = issuer
        self.clock = clock
    }

    /// Every request the engine sent, in order.
    public var requests: [HTTPRequest] { lock.withLock { log } }

    /// Requests sent to `path` (for example `/token`).
    public func requests(to path: String) -> [HTTPRequest] { requests.filter { $0.url.path.hasSuffix(path) } }

    /// Registers a client out of band (a "pre-registered" client).
    public func addClient(id: String, secret: String, redirectURIs: [String], authMethod: String = "client_secret_basic") {
        lock.withLock { clients[id] = Client(secret: secret, redirectURIs: redirectURIs, authMethod: authMethod) }
    }

    /// Answers requests to `path` with `responder` instead of the normal endpoint.
    public func override(path: String, _ responder: @escaping @Sendable (HTTPRequest) throws(HTTPTransportError) -> HTTPResponse) {
        lock.withLock { overrides[path] = responder }
    }

    /// Plays the user's browser: checks the authorization URL and returns the code the OP would redirect with.
    public func authorize(_ url: String, subject: String = "alice") throws -> String {
        guard let components = URLComponents(string: url) else { throw FakeOPError("bad authorization URL") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        return try lock.withLock {
            guard let clientID = query["client_id"], let client = clients[clientID] else {
                throw FakeOPError("unknown client")
            }
            guard let redirectURI = query["redirect_uri"], client.redirectURIs.contains(redirectURI) else {
                throw FakeOPError("redirect_uri not registered")
            }
            guard query["response_type"] == "code", query["code_challenge_method"] == "S256",
                  let challenge = query["code_challenge"], query["state"] != nil
            else { throw FakeOPError("incomplete authorization request") }
            counter += 1
            let code = "code-\(counter)"
            grants[code] = Grant(clientID: clientID, redirectURI: redirectURI, codeChallenge: challenge,
                                 nonce: query["nonce"], subject: subject)
            return code
        }
    }

    public func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
        let override = lock.withLock { () -> (@Sendable (HTTPRequest) throws(HTTPTransportError) -> HTTPResponse)? in
            log.append(request)
            return overrides[request.url.path]
        }
        if let override { return try override(request) }
        do {
            return try route(request)
        } catch {
            return Self.json(["error": .string("server_error"), "error_description": .string("\(error)")], status: 500)
        }
    }

    private func route(_ request: HTTPRequest) throws -> HTTPResponse {
        let path = request.url.path
        if path.hasSuffix("/.well-known/openid-configuration") { return Self.json(discovery()) }
        switch path {
        case "/jwks": return Self.json(["keys": .array([])])
        case "/register": return try register(request)
        case "/token": return try token(request)
        case "/userinfo": return userInfo(request)
        default: return HTTPResponse(status: 404)
        }
    }

    public func discovery() -> [String: JSONValue] {
        var document: [String: JSONValue] = [
            "issuer": .string(issuer),
            "authorization_endpoint": .string(issuer + "/authorize"),
            "token_endpoint": .string(issuer + "/token"),
            "jwks_uri": .string(issuer + "/jwks"),
            "userinfo_endpoint": .string(issuer + "/userinfo"),
            "registration_endpoint": .string(issuer + "/register"),
            "id_token_signing_alg_values_supported": .array([.string("HS256")]),
            "token_endpoint_auth_methods_supported": .array([.string("client_secret_basic"), .string("client_secret_post")]),
            "code_challenge_methods_supported": .array([.string("S256")]),
            "response_types_supported": .array([.string("code")]),
        ]
        discoveryEdits?(&document)
        return document
    }

    private func register(_ request: HTTPRequest) throws -> HTTPResponse {
        let body = try JSONDecoder().decode([String: JSONValue].self, from: request.body ?? Data())
        let redirectURIs = body["redirect_uris"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard !redirectURIs.isEmpty else {
            return Self.json(["error": .string("invalid_redirect_uri")], status: 400)
        }
        let method = body["token_endpoint_auth_method"]?.stringValue ?? "client_secret_basic"
        let (id, secret) = lock.withLock { () -> (String, String) in
            counter += 1
            let id = "client-\(counter)"
            let secret = "secret-\(counter)-0123456789abcdef0123456789abcdef"
            clients[id] = Client(secret: secret, redirectURIs: redirectURIs, authMethod: method)
            return (id, secret)
        }
        return Self.json([
            "client_id": .string(id), "client_secret": .string(secret), "client_secret_expires_at": .integer(0),
            "registration_access_token": .string("rat-\(id)"),
            "registration_client_uri": .string(issuer + "/register/" + id),
            "token_endpoint_auth_method": .string(method),
            "redirect_uris": .array(redirectURIs.map(JSONValue.string)),
        ], status: 201)
    }

    private func token(_ request: HTTPRequest) throws -> HTTPResponse {
        let form = Self.form(request.body)
        let (clientID, secret) = Self.clientCredentials(request, form: form)
        return try lock.withLock {
            guard let clientID, let client = clients[clientID], client.secret == secret else {
                return Self.json(["error": .string("invalid_client")], status: 401)
            }
            guard form["grant_type"] == "authorization_code", let code = form["code"], let grant = grants[code],
                  grant.clientID == clientID
            else {
                return Self.json(["error": .string("invalid_grant"), "error_description": .string("unknown code")], status: 400)
            }
            grants[code] = nil
            guard form["redirect_uri"] == grant.redirectURI else {
                return Self.json(["error": .string("invalid_grant"), "error_description": .string("redirect_uri")], status: 400)
            }
            let verifier = form["code_verifier"] ?? ""
            guard (try? PKCE.challenge(forVerifier: verifier)) == grant.codeChallenge else {
                return Self.json(["error": .string("invalid_grant"), "error_description": .string("PKCE")], status: 400)
            }
            counter += 1
            let accessToken = "at-\(counter)"
            accessTokens[accessToken] = grant.subject
            let now = Int64(clock.now().timeIntervalSince1970)
            var claims: [String: JSONValue] = [
                "iss": .string(issuer), "sub": .string(grant.subject), "aud": .string(clientID),
                "iat": .integer(now), "exp": .integer(now + 600),
            ]
            if let nonce = grant.nonce { claims["nonce"] = .string(nonce) }
            claims["at_hash"] = .string(try Self.halfHash(accessToken))
            idTokenClaimEdits?(&claims)
            return Self.json([
                "access_token": .string(accessToken), "token_type": .string("Bearer"), "expires_in": .integer(600),
                "refresh_token": .string("rt-\(counter)"),
                "id_token": .string(try idTokenSigner?(claims) ?? Self.signHS256(claims, secret: client.secret)),
            ])
        }
    }

    private func userInfo(_ request: HTTPRequest) -> HTTPResponse {
        let authorization = request.headers.first(where: { $0.0.lowercased() == "authorization" })?.1 ?? ""
        let token = authorization.hasPrefix("Bearer ") ? String(authorization.dropFirst(7)) : ""
        guard let subject = lock.withLock({ accessTokens[token] }) else {
            return HTTPResponse(status: 401, headers: ["www-authenticate": "Bearer error=\"invalid_token\""])
        }
        return Self.json(["sub": .string(userInfoSubject ?? subject), "email": .string("\(subject)@example.org")])
    }

    /// A compact HS256 JWS over `claims`.
    public static func signHS256(_ claims: [String: JSONValue], secret: String, header: [String: JSONValue] = ["alg": .string("HS256"), "typ": .string("JWT")]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let signingInput = Base64URL.encode(Array(try encoder.encode(JSONValue.object(header))))
            + "." + Base64URL.encode(Array(try encoder.encode(JSONValue.object(claims))))
        let mac = try hmac(.sha256, key: Array(secret.utf8), data: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(mac)
    }

    static func halfHash(_ token: String) throws -> String {
        let hash = try digest(.sha256, Array(token.utf8))
        return Base64URL.encode(Array(hash.prefix(hash.count / 2)))
    }

    public static func json(_ object: [String: JSONValue], status: Int = 200, headers: [String: String] = [:]) -> HTTPResponse {
        var headers = headers
        headers["content-type"] = "application/json"
        return HTTPResponse(status: status, headers: headers, body: (try? JSONEncoder().encode(JSONValue.object(object))) ?? Data())
    }

    /// The client id and secret a request authenticates with: HTTP Basic (form-urlencoded, RFC 6749 2.3.1) or the
    /// `client_id` and `client_secret` form fields.
    public static func clientCredentials(_ request: HTTPRequest, form: [String: String]) -> (id: String?, secret: String?) {
        if let authorization = request.headers.first(where: { $0.0.lowercased() == "authorization" })?.1,
           authorization.hasPrefix("Basic "),
           let decoded = Data(base64Encoded: String(authorization.dropFirst(6))).flatMap({ String(data: $0, encoding: .utf8) }),
           let colon = decoded.firstIndex(of: ":") {
            return (String(decoded[..<colon]).removingPercentEncoding,
                    String(decoded[decoded.index(after: colon)...]).removingPercentEncoding)
        }
        return (form["client_id"], form["client_secret"])
    }

    static func form(_ body: Data?) -> [String: String] {
        let text = body.flatMap { String(data: $0, encoding: .utf8) } ?? ""
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }
}

public struct FakeOPError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
