import Foundation
import RelydProtocol

/// An async client of the relyd daemon over its Unix socket.
///
/// ```swift
/// import RelydClient
///
/// let relyd = RelydClient(socketPath: "/run/relyd/relyd.sock")     // or RelydClient() for $RELYD_SOCKET
/// let site = try await relyd.registerSite(opHost: "https://op.example",
///                                         authorizationRedirectURI: "https://app.example/callback")
/// let login = try await relyd.authorizationURL(oxdID: site.oxdID, scope: ["openid", "email"])
/// // send the browser to login.authorizationURL; the OP redirects back with code and state
/// do {
///     let tokens = try await relyd.tokensByCode(oxdID: site.oxdID, code: code, state: state)
///     let user = try await relyd.userInfo(oxdID: site.oxdID, accessToken: tokens.accessToken)
///     print(tokens.idTokenClaims?["sub"] ?? .null, user.claims["email"] ?? .null)
/// } catch where error.errorCode == .invalidState {
///     // stale or replayed callback: start the login again
/// }
/// ```
///
/// One client holds one connection, opened on the first request and reopened when it broke. Requests from any
/// number of tasks are pipelined on it: each gets a fresh integer `id` and its response is matched by that id
/// (the daemon answers in request order, but the client does not rely on it; a response that answers no waiting
/// request is a `protocol_violation` and closes the connection).
///
/// Every request has a timeout (default 30 s: the daemon may wait on the OP). Errors are one type,
/// ``RelydClientError``, whose `code` is the daemon's stable wire code or a local one; its documentation lists
/// which failures guarantee that the daemon did nothing. A broken connection is replaced, and a request goes out
/// again on the new one only when that is safe: when the connection was found closed before any byte of it went
/// out, or when its command is one of ``resentCommands`` (they only read, or make something harmless when made
/// twice). Any other request that may have reached the daemon is never resent, because those commands are not
/// idempotent (`register_site` registers a new client at the OP each time, a code or a state is redeemable once,
/// a refresh token may be rotated): the caller gets `connection_lost` and decides.
///
/// The socket is blocking and never touched from the Swift cooperative pool: writes run on a private serial
/// Dispatch queue, reads on one thread per connection, and callers await continuations.
public final class RelydClient: Sendable {
    /// The daemon's socket path.
    public let socketPath: String
    /// How long one request may wait for its response.
    public let timeout: Duration
    private let core: ClientCore

    /// `$RELYD_SOCKET` when set and not empty, otherwise `./.relyd/relyd.sock` (the daemon's embedded default).
    public static var defaultSocketPath: String {
        if let path = ProcessInfo.processInfo.environment["RELYD_SOCKET"], !path.isEmpty { return path }
        return "./.relyd/relyd.sock"
    }

    /// Creates a client; nothing is connected until the first request.
    ///
    /// - Parameters:
    ///   - socketPath: the daemon's Unix socket.
    ///   - timeout: the longest wait for one response, also the longest a write may block.
    ///   - maximumResponseLength: the longest response line accepted, in bytes; a longer one is a
    ///     `protocol_violation`.
    public init(socketPath: String = RelydClient.defaultSocketPath, timeout: Duration = .seconds(30),
                maximumResponseLength: Int = 16 * 1024 * 1024) {
        self.socketPath = socketPath
        self.timeout = timeout
        let parts = timeout.components
        let seconds = max(0.001, Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
        core = ClientCore(socketPath: socketPath, timeoutSeconds: seconds,
                          maximumResponseLength: max(1024, maximumResponseLength))
    }

    deinit { core.shutDown() }

    /// Closes the connection. Requests still waiting fail with `connection_lost`, later ones with
    /// `connection_failed`.
    public func close() { core.shutDown() }

    // MARK: - Sending

    /// Sends one command and returns its typed result.
    ///
    /// - Throws: ``RelydClientError`` with the daemon's code (`invalid_state`, …) or a local one
    ///   (`connection_failed`, `connection_lost`, `timeout`, `protocol_violation`, `cancelled`).
    public func send<C: CommandDescriptor>(_ command: C.Type, _ parameters: C.Parameters)
        async throws(RelydClientError) -> C.Result
    {
        let line = try await exchange(command: C.name, parameters: parameters)
        return try Wire.decodeResult(C.Result.self, from: line, command: C.name)
    }

    /// Sends a command by name with untyped parameters and returns the response's `data` as JSON; for tools such
    /// as `relyctl` and for commands newer than this library.
    public func send(command: String, parameters: [String: JSONValue]) async throws(RelydClientError) -> JSONValue {
        let line = try await exchange(command: command, parameters: parameters)
        return try Wire.decodeResult(JSONValue.self, from: line, command: command)
    }

    /// Sends one request line as it is and returns the response line (without its newline).
    ///
    /// The daemon's answer is returned even when it is an error response: only failures of the connection
    /// throw. When `line` is a JSON object whose `id` is absent, a string or a number, the client swaps in its
    /// own id so that the line can share the connection with other requests, and puts the caller's id back in
    /// the response (`null` when there was none); the response is then re-encoded with sorted keys. Any other
    /// line (not JSON, not an object, an `id` of the wrong type) goes out byte for byte, and its response,
    /// which carries a null id, is matched by order.
    ///
    /// - Throws: `invalid_request_line` when `line` contains a line break; otherwise connection-level codes.
    public func sendRaw(_ line: String) async throws(RelydClientError) -> String {
        var bytes = Array(line.utf8)
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        guard !bytes.contains(0x0A) else {
            throw RelydClientError(.invalidRequestLine, "a request must be one line")
        }
        let id = core.allocateID()
        let substitution = Wire.substituteID(in: bytes, with: id)
        let response = try await core.exchange(id: id, line: (substitution?.line ?? bytes) + [0x0A]).get()
        guard let substitution else { return String(decoding: response, as: UTF8.self) }
        return try Wire.restoreID(substitution.originalID, in: response)
    }

    /// The commands sent once more, on a new connection, when the connection broke after the request went out
    /// (`connection_lost`): each only reads, or makes something the daemon throws away unused (a login state that
    /// expires, a cached client token). The same list as the Python client's `RETRIED_COMMANDS`.
    public static let resentCommands: Set<String> = [
        Health.name, Stats.name, GetSite.name, ListSites.name, GetDiscovery.name, GetIssuer.name, GetJWKS.name,
        GetAuthorizationURL.name, GetLogoutURI.name, GetUserInfo.name, CheckIDToken.name,
        IntrospectAccessToken.name, GetClientToken.name,
    ]

    private func exchange(command: String, parameters: some Encodable & Sendable)
        async throws(RelydClientError) -> [UInt8]
    {
        var mayResend = Self.resentCommands.contains(command)
        while true {
            let id = core.allocateID()
            let line = try Wire.requestLine(id: id, command: command, parameters: parameters)
            switch await core.exchange(id: id, line: line) {
            case .success(let response):
                return response
            case .failure(let error) where error.localCode == .connectionLost && mayResend:
                mayResend = false
            case .failure(let error):
                throw error
            }
        }
    }

    // MARK: - Commands

    /// `register_site`: discovers the OP and registers a client (or adopts `clientID`/`clientSecret`).
    public func registerSite(opHost: String, authorizationRedirectURI: String, postLogoutRedirectURI: String? = nil,
                             scope: [String]? = nil, clientName: String? = nil, grantTypes: [String]? = nil,
                             responseTypes: [String]? = nil, tokenEndpointAuthMethod: String? = nil,
                             idTokenSignedResponseAlg: String? = nil, clientID: String? = nil,
                             clientSecret: String? = nil, authorizationEndpoint: String? = nil,
                             tokenEndpoint: String? = nil, userinfoEndpoint: String? = nil, signingAlg: String? = nil)
        async throws(RelydClientError) -> RegisterSite.Result
    {
        try await send(RegisterSite.self, .init(
            opHost: opHost, authorizationRedirectURI: authorizationRedirectURI,
            postLogoutRedirectURI: postLogoutRedirectURI, scope: scope, clientName: clientName,
            grantTypes: grantTypes, responseTypes: responseTypes, tokenEndpointAuthMethod: tokenEndpointAuthMethod,
            idTokenSignedResponseAlg: idTokenSignedResponseAlg, clientID: clientID, clientSecret: clientSecret,
            authorizationEndpoint: authorizationEndpoint, tokenEndpoint: tokenEndpoint,
            userinfoEndpoint: userinfoEndpoint, signingAlg: signingAlg))
    }

    /// `get_authorization_url`: a login URL with fresh state, nonce and PKCE.
    public func authorizationURL(oxdID: String, scope: [String]? = nil, acrValues: [String]? = nil,
                                 prompt: String? = nil, maxAge: Int? = nil, loginHint: String? = nil,
                                 uiLocales: [String]? = nil, claims: [String: JSONValue]? = nil,
                                 responseMode: String? = nil, customParameters: [String: String]? = nil)
        async throws(RelydClientError) -> GetAuthorizationURL.Result
    {
        try await send(GetAuthorizationURL.self, .init(
            oxdID: oxdID, scope: scope, acrValues: acrValues, prompt: prompt, maxAge: maxAge, loginHint: loginHint,
            uiLocales: uiLocales, claims: claims, responseMode: responseMode, customParameters: customParameters))
    }

    /// `get_tokens_by_code`: redeems the code and state from the OP's redirect; the ID token is validated.
    public func tokensByCode(oxdID: String, code: String, state: String, iss: String? = nil)
        async throws(RelydClientError) -> GetTokensByCode.Result
    {
        try await send(GetTokensByCode.self, .init(oxdID: oxdID, code: code, state: state, iss: iss))
    }

    /// `get_user_info`: the userinfo claims for an access token.
    public func userInfo(oxdID: String, accessToken: String) async throws(RelydClientError) -> GetUserInfo.Result {
        try await send(GetUserInfo.self, .init(oxdID: oxdID, accessToken: accessToken))
    }

    /// `get_logout_uri`: the OP's RP-initiated logout URL to send the user's browser to.
    public func logoutURI(oxdID: String, idTokenHint: String? = nil, postLogoutRedirectURI: String? = nil,
                          state: String? = nil, uiLocales: [String]? = nil)
        async throws(RelydClientError) -> GetLogoutURI.Result
    {
        try await send(GetLogoutURI.self, .init(
            oxdID: oxdID, idTokenHint: idTokenHint, postLogoutRedirectURI: postLogoutRedirectURI, state: state,
            uiLocales: uiLocales))
    }

    /// `validate_logout_token`: checks a back-channel logout token; returns whose sessions to end.
    public func validateLogoutToken(oxdID: String, logoutToken: String)
        async throws(RelydClientError) -> ValidateLogoutToken.Result
    {
        try await send(ValidateLogoutToken.self, .init(oxdID: oxdID, logoutToken: logoutToken))
    }

    /// `health`: the daemon's status, version and uptime.
    public func health() async throws(RelydClientError) -> Health.Result {
        try await send(Health.self, NoParameters())
    }

    /// `stats`: uptime, requests and errors per command, connections, store size, OP call latencies, cache hit rates.
    public func stats() async throws(RelydClientError) -> Stats.Result {
        try await send(Stats.self, NoParameters())
    }

    /// `update_site`: changes the given metadata; a dynamically registered client is updated at the OP too.
    public func updateSite(oxdID: String, authorizationRedirectURI: String? = nil,
                           postLogoutRedirectURI: String? = nil, scope: [String]? = nil, clientName: String? = nil,
                           grantTypes: [String]? = nil, responseTypes: [String]? = nil,
                           idTokenSignedResponseAlg: String? = nil)
        async throws(RelydClientError) -> SiteMetadata
    {
        try await send(UpdateSite.self, .init(
            oxdID: oxdID, authorizationRedirectURI: authorizationRedirectURI,
            postLogoutRedirectURI: postLogoutRedirectURI, scope: scope, clientName: clientName,
            grantTypes: grantTypes, responseTypes: responseTypes, idTokenSignedResponseAlg: idTokenSignedResponseAlg))
    }

    /// `remove_site`: forgets the site and deregisters its client at the OP where possible.
    public func removeSite(oxdID: String) async throws(RelydClientError) -> RemoveSite.Result {
        try await send(RemoveSite.self, .init(oxdID: oxdID))
    }

    /// `get_site`: the site's stored metadata, without secrets.
    public func site(oxdID: String) async throws(RelydClientError) -> SiteMetadata {
        try await send(GetSite.self, .init(oxdID: oxdID))
    }

    /// `list_sites`: every site's metadata, sorted by oxd_id.
    public func sites() async throws(RelydClientError) -> [SiteMetadata] {
        try await send(ListSites.self, NoParameters()).sites
    }

    /// `get_discovery`: the OP's discovery document, by issuer or by one of its sites.
    public func discovery(opHost: String? = nil, oxdID: String? = nil)
        async throws(RelydClientError) -> [String: JSONValue]
    {
        try await send(GetDiscovery.self, .init(opHost: opHost, oxdID: oxdID)).discovery
    }

    /// `get_issuer`: the issuer of `acct:user@host`, `user@host` or an https URL, by WebFinger.
    public func issuer(resource: String) async throws(RelydClientError) -> String {
        try await send(GetIssuer.self, .init(resource: resource)).issuer
    }

    /// `get_access_token_by_refresh_token`: new tokens for a refresh token; concurrent calls with the same token
    /// share one request to the OP.
    public func accessTokenByRefreshToken(oxdID: String, refreshToken: String, scope: [String]? = nil)
        async throws(RelydClientError) -> GetAccessTokenByRefreshToken.Result
    {
        try await send(GetAccessTokenByRefreshToken.self, .init(oxdID: oxdID, refreshToken: refreshToken, scope: scope))
    }

    /// `get_client_token`: an access token for the site itself (client credentials), cached by the daemon.
    public func clientToken(oxdID: String, scope: [String]? = nil) async throws(RelydClientError)
        -> GetClientToken.Result
    {
        try await send(GetClientToken.self, .init(oxdID: oxdID, scope: scope))
    }

    /// `introspect_access_token`: the OP's introspection answer for a token (RFC 7662).
    public func introspect(oxdID: String, token: String, tokenTypeHint: String? = nil)
        async throws(RelydClientError) -> IntrospectAccessToken.Result
    {
        try await send(IntrospectAccessToken.self, .init(oxdID: oxdID, token: token, tokenTypeHint: tokenTypeHint))
    }

    /// `revoke_token`: revokes an access or refresh token at the OP (RFC 7009).
    public func revoke(oxdID: String, token: String, tokenTypeHint: String? = nil)
        async throws(RelydClientError) -> RevokeToken.Result
    {
        try await send(RevokeToken.self, .init(oxdID: oxdID, token: token, tokenTypeHint: tokenTypeHint))
    }

    /// `check_id_token`: validates an ID token the app holds and returns its claims.
    public func checkIDToken(oxdID: String, idToken: String, nonce: String? = nil, accessToken: String? = nil)
        async throws(RelydClientError) -> CheckIDToken.Result
    {
        try await send(CheckIDToken.self, .init(oxdID: oxdID, idToken: idToken, nonce: nonce, accessToken: accessToken))
    }

    /// `get_jwks`: the site's public JWK Set, to serve at a jwks_uri.
    public func jwks(oxdID: String) async throws(RelydClientError) -> GetJWKS.Result {
        try await send(GetJWKS.self, .init(oxdID: oxdID))
    }
}
