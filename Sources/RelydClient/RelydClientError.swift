import RelydProtocol

/// The one error ``RelydClient`` throws: the daemon's wire error code, or a local code for a failure of the
/// connection itself.
///
/// `code` is what programs branch on. It is either one of the daemon's stable codes (``ErrorCode``, see
/// docs/PROTOCOL.md; also exposed typed as ``errorCode``), a code a newer daemon sent that this library does
/// not know yet (then ``errorCode`` is nil), or one of the local codes below, which never travel on the wire:
///
/// | local code | meaning | may the daemon have run the request? |
/// |---|---|---|
/// | `connection_failed` | the socket could not be opened, or the request could not be written (no byte of it reached the daemon) | no |
/// | `connection_lost` | the connection broke after the request was written, before its response arrived | maybe |
/// | `timeout` | no response within the client's timeout; a late response is discarded | maybe |
/// | `protocol_violation` | the daemon sent something that is not a response to this request: not a JSON response line or an id no request was given (both close the connection), or `data` that does not decode as the command's result | maybe |
/// | `cancelled` | the calling task was cancelled while waiting | maybe |
/// | `invalid_request_line` | ``RelydClient/sendRaw(_:)`` was given a line with a line break in it; nothing was sent | no |
///
/// Only `connection_failed` and `invalid_request_line` guarantee that nothing happened; after the others a
/// `register_site` may have created a site.
public struct RelydClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The wire code (`invalid_state`, …) or a local code (`connection_failed`, …).
    public var code: String
    /// Text for humans; never match on it.
    public var description: String

    public init(code: String, description: String) {
        self.code = code
        self.description = description
    }

    init(_ code: LocalCode, _ description: String) {
        self.init(code: code.rawValue, description: description)
    }

    /// The code as a known wire ``ErrorCode``, or nil for a local code or a code this library does not know.
    public var errorCode: ErrorCode? { ErrorCode(rawValue: code) }

    /// The code as a local ``LocalCode``, or nil when the daemon sent it.
    public var localCode: LocalCode? { LocalCode(rawValue: code) }

    /// True for failures of the connection rather than of the command (`connection_failed`, `connection_lost`,
    /// `timeout`); `relyctl` exits with status 3 for them.
    public var isConnectionFailure: Bool {
        switch localCode {
        case .connectionFailed?, .connectionLost?, .timeout?: true
        default: false
        }
    }

    /// The codes the client makes itself. They are disjoint from ``ErrorCode``.
    public enum LocalCode: String, Sendable, CaseIterable {
        case connectionFailed = "connection_failed"
        case connectionLost = "connection_lost"
        case timeout
        case protocolViolation = "protocol_violation"
        case cancelled
        case invalidRequestLine = "invalid_request_line"
    }
}
