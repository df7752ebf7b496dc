"""The one exception of the relyd client."""

#: Local codes, made by this client and never sent by the daemon: those of the Swift client
#: (Sources/RelydClient/RelydClientError.swift) that a blocking client can meet (no task cancellation, no raw lines).
CONNECTION_FAILED = "connection_failed"
CONNECTION_LOST = "connection_lost"
TIMEOUT = "timeout"
PROTOCOL_VIOLATION = "protocol_violation"

LOCAL_CODES = frozenset({CONNECTION_FAILED, CONNECTION_LOST, TIMEOUT, PROTOCOL_VIOLATION})

class RelydError(Exception):
    """A request failed: the daemon answered with an error, or the connection to it failed.

    ``code`` is what programs branch on: either the daemon's stable wire code (``invalid_state``,
    ``op_unreachable``, ... see docs/PROTOCOL.md) or one of the local codes:

    ====================== ==================================================================== =====================
    local code             meaning                                                              did the daemon act?
    ====================== ==================================================================== =====================
    ``connection_failed``  the socket could not be opened or not a byte of the request was sent no
    ``connection_lost``    the connection broke after the request was sent, before the answer  maybe
    ``timeout``            no answer within the client's timeout; the connection is dropped     maybe
    ``protocol_violation`` the daemon sent something that is not this request's response      maybe
    ====================== ==================================================================== =====================

    ``description`` is for people and may change between versions: never match on it.
    """

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description

    @property
    def is_local(self) -> bool:
        """True when the client made the error (the connection failed), False when the daemon sent it."""
        return self.code in LOCAL_CODES

    @property
    def is_connection_failure(self) -> bool:
        """True for ``connection_failed``, ``connection_lost`` and ``timeout``: retrying later may help."""
        return self.code in (CONNECTION_FAILED, CONNECTION_LOST, TIMEOUT)
