import Foundation
import RelydBasics
import RelydCrypto
import RelydHTTP
import RelydOIDC
import RelydProtocol

/// An OpenID Provider simulated inside the test process, reached through the `HTTPTransport` the engine is given,
/// or over real HTTP through a ``LoopbackHTTPServer``.
///
/// It serves discovery, JWKS, dynamic registration, the token endpoint (authorization code and refresh token
/// grants, checking client authentication, the redirect URI and the PKCE verifier like a strict OP), userinfo
/// (JSON or signed), RP-initiated logout and WebFinger. ID tokens are signed HS256 with the client's secret unless
/// ``signingKey`` names another key. Tests change its behaviour through the `var`s, or replace any endpoint's answer
/// with ``override(path:_:)``.
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
    private var accessTokens: [String: (clientID: String, subject: String)] = [:]
    private var refreshTokens: [String: (clientID: String, subject: String)] = [:]
    private var issuedIDTokens: Set<String> = []
    private var overrides: [String: Responder] = [:]
    private var counter = 0
    /// Makes this OP's tokens differ from every other instance's, as a real OP's do: relyd keys what it remembers
    /// about a token by its hash, across all the OPs its sites use.
    private let tokenPrefix = UUID().uuidString.prefix(8)
    private var log: [HTTPRequest] = []
    /// Changes applied to every ID token's claims just before signing.
    public var idTokenClaimEdits: (@Sendable (inout [String: JSONValue]) -> Void)?
    /// Changes applied to the discovery document.
    public var discoveryEdits: (@Sendable (inout [String: JSONValue]) -> Void)?
    /// The `sub` the userinfo endpoint reports; nil means the subject the token was issued to.
    public var userInfoSubject: String?
    /// The key ID tokens, signed userinfo and ``sign(_:clientID:)`` use; nil: HS256 with the client's secret.
    public var signingKey: OPSigningKey?
    /// The JWKs served at `/jwks`.
    public var publishedKeys: [JSONValue] = []
    /// Changes applied to every token response (any member, the ID token itself included) just before it is sent.
    public var tokenResponseEdits: (@Sendable (inout [String: JSONValue]) -> Void)?
    /// Whether userinfo answers with a JWT signed with ``signingKey`` (`application/jwt`, Core 5.3.2).
    public var signsUserInfo = false
    /// Whether userinfo reads the access token only from a form-encoded POST body (RFC 6750 2.2), as if the
    /// Authorization header field did not exist.
    public var readsUserInfoTokenFromBodyOnly = false

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

    /// Answers one request in place of a normal endpoint. Async so that a responder can hold its answer (see
    /// ``RequestGate``) without blocking one of the cooperative pool's few threads.
    public typealias Responder = @Sendable (HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse

    /// Answers requests to `path` with `responder` instead of the normal endpoint.
    public func override(path: String, _ responder: @escaping Responder) {
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
        let override = lock.withLock { () -> Responder? in
            log.append(request)
            return overrides[request.url.path]
        }
        if let override { return try await override(request) }
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
        case "/jwks": return Self.json(["keys": .array(lock.withLock { publishedKeys })])
        case "/register": return try register(request)
        case "/token": return try token(request)
        case "/userinfo": return try userInfo(request)
        case "/end_session": return endSession(request)
        case "/.well-known/webfinger": return webFinger(request)
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
            "id_token_signed_response_alg": body["id_token_signed_response_alg"] ?? .null,
        ].filter { $0.value != .null }, status: 201)
    }

    private func token(_ request: HTTPRequest) throws -> HTTPResponse {
        let form = Self.form(request.body)
        let (clientID, secret) = Self.clientCredentials(request, form: form)
        return try lock.withLock {
            guard let clientID, let client = clients[clientID], client.secret == secret else {
                return Self.json(["error": .string("invalid_client")], status: 401)
            }
            let subject: String
            var nonce: String?
            switch form["grant_type"] {
            case "authorization_code":
                guard let code = form["code"], let grant = grants[code], grant.clientID == clientID else {
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
                subject = grant.subject
                nonce = grant.nonce
            case "refresh_token":
                guard let token = form["refresh_token"], let grant = refreshTokens[token], grant.clientID == clientID else {
                    return Self.json(["error": .string("invalid_grant")], status: 400)
                }
                subject = grant.subject
            default:
                return Self.json(["error": .string("unsupported_grant_type")], status: 400)
            }
            counter += 1
            let accessToken = "at-\(tokenPrefix)-\(counter)"
            let refreshToken = "rt-\(tokenPrefix)-\(counter)"
            accessTokens[accessToken] = (clientID, subject)
            refreshTokens[refreshToken] = (clientID, subject)
            let key = try signingKey ?? OPSigningKey(.hs256, keyID: nil)
            let now = Int64(clock.now().timeIntervalSince1970)
            var claims: [String: JSONValue] = [
                "iss": .string(issuer), "sub": .string(subject), "aud": .string(clientID),
                "iat": .integer(now), "exp": .integer(now + 600),
            ]
            if let nonce { claims["nonce"] = .string(nonce) }
            if let hash = try key.tokenHash(accessToken) { claims["at_hash"] = .string(hash) }
            idTokenClaimEdits?(&claims)
            let idToken = try key.sign(claims, clientSecret: client.secret)
            issuedIDTokens.insert(idToken)
            var answer: [String: JSONValue] = [
                "access_token": .string(accessToken), "token_type": .string("Bearer"), "expires_in": .integer(600),
                "refresh_token": .string(refreshToken), "id_token": .string(idToken),
            ]
            tokenResponseEdits?(&answer)
            return Self.json(answer)
        }
    }

    /// Signs `claims` as this OP signs its ID tokens for `clientID` (for logout tokens and other JWTs a test makes).
    public func sign(_ claims: [String: JSONValue], clientID: String,
                     header edits: (inout [String: JSONValue]) -> Void = { _ in }) throws -> String {
        let secret = lock.withLock { clients[clientID]?.secret } ?? ""
        return try (signingKey ?? OPSigningKey(.hs256, keyID: nil)).sign(claims, clientSecret: secret, header: edits)
    }

    private func userInfo(_ request: HTTPRequest) throws -> HTTPResponse {
        let token: String
        if readsUserInfoTokenFromBodyOnly {
            let isForm = request.method == .post && request.headers.contains {
                $0.0.lowercased() == "content-type" && $0.1.hasPrefix("application/x-www-form-urlencoded")
            }
            token = isForm ? Self.form(request.body)["access_token"] ?? "" : ""
        } else {
            let authorization = request.headers.first(where: { $0.0.lowercased() == "authorization" })?.1 ?? ""
            token = authorization.hasPrefix("Bearer ") ? String(authorization.dropFirst(7)) : ""
        }
        guard !token.isEmpty else {
            // RFC 6750 3.1: a request without any token gets a challenge without an error code.
            return HTTPResponse(status: 401, headers: ["www-authenticate": "Bearer realm=\"fake\""])
        }
        guard let (clientID, subject) = lock.withLock({ accessTokens[token] }) else {
            return HTTPResponse(status: 401, headers: ["www-authenticate": "Bearer error=\"invalid_token\""])
        }
        let claims: [String: JSONValue] = [
            "sub": .string(userInfoSubject ?? subject), "email": .string("\(subject)@example.org"),
        ]
        guard signsUserInfo else { return Self.json(claims) }
        var signed = claims
        signed["iss"] = .string(issuer)
        signed["aud"] = .string(clientID)
        return HTTPResponse(status: 200, headers: ["content-type": "application/jwt"],
                            body: Data(try sign(signed, clientID: clientID).utf8))
    }

    /// RP-initiated logout at `/end_session` (advertise it with ``discoveryEdits``): the `id_token_hint` must be an ID token this OP issued and the post-logout redirect
    /// URI one of the client's; the browser is then sent there with the `state`.
    private func endSession(_ request: HTTPRequest) -> HTTPResponse {
        let query = Dictionary((URLComponents(url: request.url, resolvingAgainstBaseURL: false)?.queryItems ?? [])
            .map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        guard let hint = query["id_token_hint"], lock.withLock({ issuedIDTokens.contains(hint) }),
              let redirect = query["post_logout_redirect_uri"], var target = URLComponents(string: redirect)
        else { return HTTPResponse(status: 400) }
        if let state = query["state"] { target.queryItems = [URLQueryItem(name: "state", value: state)] }
        return HTTPResponse(status: 302, headers: ["location": target.string ?? redirect])
    }

    /// WebFinger (RFC 7033): every resource's issuer is this OP.
    private func webFinger(_ request: HTTPRequest) -> HTTPResponse {
        let query = URLComponents(url: request.url, resolvingAgainstBaseURL: false)?.queryItems ?? []
        guard let resource = query.first(where: { $0.name == "resource" })?.value else { return HTTPResponse(status: 400) }
        return Self.json(["subject": .string(resource), "links": .array([.object([
            "rel": .string("http://openid.net/specs/connect/1.0/issuer"), "href": .string(issuer),
        ])])], headers: ["content-type": "application/jrd+json"])
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

    public static func json(_ object: [String: JSONValue], status: Int = 200, headers: [String: String] = [:]) -> HTTPResponse {
        var headers = headers
        headers["content-type"] = headers["content-type"] ?? "application/json"
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
