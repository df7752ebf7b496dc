"""Typed results of the daemon's commands, one dataclass per result shape of docs/PROTOCOL.md.

Optional members the daemon did not send are ``None``. Members a newer daemon adds are ignored, as the
protocol asks of clients, so an older client keeps working.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Type, TypeVar

from .errors import PROTOCOL_VIOLATION, RelydError

T = TypeVar("T")


def from_data(cls: Type[T], data: Any, command: str) -> T:
    """Builds ``cls`` from a response's ``data`` object; a missing required member is a protocol violation."""
    if not isinstance(data, dict):
        raise RelydError(PROTOCOL_VIOLATION, f"{command}: the result is not a JSON object")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    known = {field.name: data[field.name] for field in fields if field.name in data}
    missing = [field.name for field in fields
               if field.name not in data and field.default is dataclasses.MISSING]
    if missing:
        raise RelydError(PROTOCOL_VIOLATION, f"{command}: the result lacks {', '.join(missing)}")
    return cls(**known)


@dataclass(frozen=True)
class RegisteredSite:
    """``register_site``: keep ``oxd_id``, every other command needs it."""
    oxd_id: str
    client_id: str
    op_host: str


@dataclass(frozen=True)
class AuthorizationURL:
    """``get_authorization_url``: send the browser to ``authorization_url``."""
    authorization_url: str
    state: str


@dataclass(frozen=True)
class ClientToken:
    """``get_client_token``: a token for the site itself (client credentials)."""
    access_token: str
    token_type: str
    scope: List[str] = dataclasses.field(default_factory=list)
    expires_in: Optional[int] = None
    expires_at: Optional[int] = None


@dataclass(frozen=True)
class Tokens(ClientToken):
    """``get_tokens_by_code`` and ``get_access_token_by_refresh_token``; the ID token is already validated."""
    refresh_token: Optional[str] = None
    id_token: Optional[str] = None
    id_token_claims: Optional[Dict[str, Any]] = None


@dataclass(frozen=True)
class UserInfo:
    """``get_user_info``: the OP's claims about the user."""
    claims: Dict[str, Any]


@dataclass(frozen=True)
class LogoutURI:
    """``get_logout_uri``: send the browser to ``uri`` after ending the app's own session."""
    uri: str


@dataclass(frozen=True)
class LogoutToken:
    """``validate_logout_token``: end the sessions of ``sub`` (only session ``sid`` when given)."""
    iss: str
    jti: str
    sub: Optional[str] = None
    sid: Optional[str] = None


@dataclass(frozen=True)
class Health:
    """``health``."""
    status: str
    version: str
    uptime_seconds: int


@dataclass(frozen=True)
class Stats:
    """``stats``: ``commands`` maps a command name to ``{"requests": n, "errors": n}``."""
    uptime_seconds: int
    commands: Dict[str, Dict[str, int]]
    connections: Dict[str, int]
    store_bytes: int


@dataclass(frozen=True)
class Site:
    """``get_site``, ``update_site``, ``list_sites``: a site's stored metadata, never its secrets."""
    oxd_id: str
    op_host: str
    client_id: str
    authorization_redirect_uri: str
    scope: List[str]
    grant_types: List[str]
    response_types: List[str]
    token_endpoint_auth_method: str
    dynamically_registered: bool
    created_at: int
    provider_kind: str
    client_name: Optional[str] = None
    post_logout_redirect_uri: Optional[str] = None
    id_token_signed_response_alg: Optional[str] = None
    client_secret_expires_at: Optional[int] = None


@dataclass(frozen=True)
class RemovedSite:
    """``remove_site``: ``op_deregistered`` is False when the client could not be deleted at the OP."""
    oxd_id: str
    op_deregistered: bool


@dataclass(frozen=True)
class Introspection:
    """``introspect_access_token``: ``response`` is the OP's whole answer, ``active`` included."""
    active: bool
    response: Dict[str, Any]


@dataclass(frozen=True)
class IdTokenCheck:
    """``check_id_token``: an invalid token raises ``id_token_invalid`` instead, so ``valid`` is always True."""
    valid: bool
    claims: Dict[str, Any]


@dataclass(frozen=True)
class JWKS:
    """``get_jwks``: the site's public keys, to serve at a ``jwks_uri``."""
    keys: List[Dict[str, Any]]
