import Foundation
import RelydBasics
import RelydHTTP
import RelydProtocol

/// The token endpoints FakeOP does not serve, installed on a ``FakeOP`` through its overrides: the refresh token
/// and client credentials grants at `/token`, introspection (RFC 7662) at `/introspect` and revocation (RFC 7009)
/// at `/revoke`. Install it before the first discovery fetch (it advertises the two endpoints), and after the logins
/// whose codes FakeOP itself must redeem (it takes over `/token`).
public final class FakeTokenService: @unchecked Sendable {
    struct IssuedToken {
        var subject: String?
        var scope: String?
        var active = true
    }

    // Behaviour switches: set them before the requests they should affect.
    /// Whether a refresh issues a new refresh token (and retires the old one).
    public var rotatesRefreshTokens = true
    /// Whether a refresh returns a new ID token.
    public var issuesIDTokenOnRefresh = false
    /// Changes applied to a refreshed ID token's claims just before signing.
    public var idTokenClaimEdits: (@Sendable (inout [String: JSONValue]) -> Void)?
    /// `expires_in` of issued access tokens; nil leaves it out.
    public var expiresIn: Int? = 600
    /// Where token requests wait before they are answered, to make concurrent callers overlap.
    public var tokenGate: RequestGate?

    private let op: FakeOP
    private let clock: any WallClock
    // Invariant: every stored property below is read and written only under `lock`.
    private let lock = NSLock()
    private var clients: [String: String] = [:]
    private var refreshTokens: [String: IssuedToken] = [:]
    private var accessTokens: [String: IssuedToken] = [:]
    private var counter = 0

    public init(op: FakeOP, clock: any WallClock) {
        self.op = op
        self.clock = clock
        let issuer = op.issuer
        op.discoveryEdits = { document in
            document["introspection_endpoint"] = .string(issuer + "/introspect")
            document["revocation_endpoint"] = .string(issuer + "/revoke")
        }
    }

    /// Accepts `clientID` with `secret`, and takes over `/token`, `/introspect` and `/revoke`.
    public func install(clientID: String, secret: String) {
        lock.withLock { clients[clientID] = secret }
        op.override(path: "/token") { [self] request in await token(request) }
        op.override(path: "/introspect") { [self] request in introspect(request) }
        op.override(path: "/revoke") { [self] request in revoke(request) }
    }

    /// Makes a refresh token (for example one FakeOP issued at login) known, for `subject`.
    public func addRefreshToken(_ token: String, subject: String) {
        lock.withLock { refreshTokens[token] = IssuedToken(subject: subject) }
    }

    /// Makes an access token known as active.
    public func addAccessToken(_ token: String, subject: String) {
        lock.withLock { accessTokens[token] = IssuedToken(subject: subject) }
    }

    private func authenticatedClient(_ request: HTTPRequest, _ form: [String: String]) -> String? {
        let (clientID, secret) = FakeOP.clientCredentials(request, form: form)
        guard let clientID, let secret, lock.withLock({ clients[clientID] }) == secret else { return nil }
        return clientID
    }

    private func token(_ request: HTTPRequest) async -> HTTPResponse {
        await tokenGate?.pass()
        let form = FakeOP.form(request.body)
        guard let clientID = authenticatedClient(request, form) else {
            return FakeOP.json(["error": .string("invalid_client")], status: 401)
        }
        return lock.withLock {
            counter += 1
            let accessToken = "at-refreshed-\(counter)"
            var answer: [String: JSONValue] = ["access_token": .string(accessToken), "token_type": .string("Bearer")]
            if let expiresIn { answer["expires_in"] = .integer(Int64(expiresIn)) }
            switch form["grant_type"] {
            case "refresh_token":
                guard let old = form["refresh_token"], let grant = refreshTokens[old], grant.active else {
                    return FakeOP.json(["error": .string("invalid_grant")], status: 400)
                }
                accessTokens[accessToken] = IssuedToken(subject: grant.subject, scope: form["scope"])
                if rotatesRefreshTokens {
                    refreshTokens[old] = nil
                    let new = "rt-rotated-\(counter)"
                    refreshTokens[new] = grant
                    answer["refresh_token"] = .string(new)
                }
                if issuesIDTokenOnRefresh, let secret = clients[clientID] {
                    let now = Int64(clock.now().timeIntervalSince1970)
                    var claims: [String: JSONValue] = [
                        "iss": .string(op.issuer), "sub": .string(grant.subject ?? ""), "aud": .string(clientID),
                        "iat": .integer(now), "exp": .integer(now + 600),
                    ]
                    idTokenClaimEdits?(&claims)
                    answer["id_token"] = .string((try? FakeOP.signHS256(claims, secret: secret)) ?? "")
                }
            case "client_credentials":
                accessTokens[accessToken] = IssuedToken(subject: nil, scope: form["scope"])
                if let scope = form["scope"] { answer["scope"] = .string(scope) }
            default:
                return FakeOP.json(["error": .string("unsupported_grant_type")], status: 400)
            }
            return FakeOP.json(answer)
        }
    }

    private func introspect(_ request: HTTPRequest) -> HTTPResponse {
        let form = FakeOP.form(request.body)
        guard let clientID = authenticatedClient(request, form) else {
            return FakeOP.json(["error": .string("invalid_client")], status: 401)
        }
        return lock.withLock {
            let token = form["token"] ?? ""
            guard let issued = accessTokens[token] ?? refreshTokens[token], issued.active else {
                return FakeOP.json(["active": .bool(false)])
            }
            var answer: [String: JSONValue] = ["active": .bool(true), "client_id": .string(clientID)]
            if let subject = issued.subject { answer["sub"] = .string(subject) }
            if let scope = issued.scope { answer["scope"] = .string(scope) }
            return FakeOP.json(answer)
        }
    }

    private func revoke(_ request: HTTPRequest) -> HTTPResponse {
        let form = FakeOP.form(request.body)
        guard authenticatedClient(request, form) != nil else {
            return FakeOP.json(["error": .string("invalid_client")], status: 401)
        }
        lock.withLock {
            let token = form["token"] ?? ""
            accessTokens[token]?.active = false
            refreshTokens[token]?.active = false
        }
        return HTTPResponse(status: 200)
    }
}
