/// The stable, machine-readable error codes of the wire protocol.
///
/// A code, once published, keeps its meaning forever: clients branch on it. Descriptions are prose for humans
/// and may change; tests and clients never match on them.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    // The request line itself.
    /// The line is longer than the daemon's `max_line_bytes`.
    case requestTooLarge = "request_too_large"
    /// The line is not valid UTF-8.
    case invalidUTF8 = "invalid_utf8"
    /// The line is not valid JSON.
    case invalidJSON = "invalid_json"
    /// The line is JSON but not a request object: not an object, an `id` that is not a string or number, a
    /// `command` that is not a string, a `params` that is not an object, or an unknown top-level member.
    case invalidRequest = "invalid_request"
    /// The request has no `command` member, or it is null.
    case missingCommand = "missing_command"
    /// No command has that name.
    case unknownCommand = "unknown_command"
    /// A required parameter is absent; the description names it.
    case missingParameter = "missing_parameter"
    /// A parameter has the wrong type or an unacceptable value, or is not known; the description names it.
    case invalidParameter = "invalid_parameter"

    // The relying-party state.
    /// No site has that `oxd_id`.
    case unknownSite = "unknown_site"
    /// The `state` is unknown, expired, already redeemed, or belongs to another site.
    case invalidState = "invalid_state"

    // The OpenID Provider.
    /// The OP could not be reached or did not answer in time.
    case opUnreachable = "op_unreachable"
    /// The OP answered with an OAuth error (`error`, `error_description`), quoted in the description.
    case opError = "op_error"
    /// The OP's answer is not what the specifications require: not JSON, malformed, or too large.
    case opResponseInvalid = "op_response_invalid"
    /// The discovery document's `issuer` is not the `op_host` asked for.
    case issuerMismatch = "issuer_mismatch"
    /// The ID token failed a check; the description names the check.
    case idTokenInvalid = "id_token_invalid"
    /// The userinfo response failed a check (for example its `sub` differs from the ID token's).
    case userInfoInvalid = "userinfo_invalid"
    /// The issuer (or WebFinger host) is not in the daemon's `allowed_op_hosts`; nothing was fetched.
    case opNotAllowed = "op_not_allowed"
    /// The OP does not offer what the command needs: it publishes no `end_session_endpoint`, `userinfo_endpoint`,
    /// `introspection_endpoint`, `revocation_endpoint` or `registration_endpoint`. Nothing was sent to it.
    case opUnsupported = "op_unsupported"
    /// The back-channel logout token failed a check (including a replayed `jti`); the description names the check.
    case logoutTokenInvalid = "logout_token_invalid"

    /// Anything unexpected inside the daemon. The description is fixed; the detail goes to the daemon's log.
    case internalError = "internal_error"

    // Who may ask.
    /// The peer's uid and primary gid are not in the daemon's `allowed_uids` / `allowed_gids`, or the command
    /// changes sites and the peer is not in `admin_uids` / `admin_gids`. Nothing was done.
    case accessDenied = "access_denied"

    // The connection's limits. The response's `id` is null: the daemon answers without reading the request.
    /// The daemon already serves `max_connections` connections, or `max_connections_per_uid` of the peer's uid.
    /// Sent once on the new connection, which is then closed.
    case tooManyConnections = "too_many_connections"
    /// The connection sent requests faster than `requests_per_second` (beyond `request_burst`). That request was
    /// not run; the connection stays usable.
    case rateLimited = "rate_limited"
    /// The connection sent no request for `idle_timeout_seconds`. Sent unasked, then the connection is closed.
    case idleTimeout = "idle_timeout"

    // The store.
    /// The daemon cannot reach its database (the PostgreSQL store's server is down or dropped the connection).
    /// Nothing was changed unless the description says otherwise; retry later: the daemon reconnects by itself.
    case storeUnavailable = "store_unavailable"
}
