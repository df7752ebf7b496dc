"""Client of relyd, the local OpenID Connect relying-party daemon; standard library only."""

from .client import RETRIED_COMMANDS, Client, default_socket_path
from .errors import CONNECTION_FAILED, CONNECTION_LOST, LOCAL_CODES, PROTOCOL_VIOLATION, TIMEOUT, RelydError
from .results import (JWKS, AuthorizationURL, ClientToken, Health, IdTokenCheck, Introspection, LogoutToken,
                      LogoutURI, RegisteredSite, RemovedSite, Site, Stats, Tokens, UserInfo)

__all__ = [
    "Client", "RelydError", "RETRIED_COMMANDS", "default_socket_path",
    "CONNECTION_FAILED", "CONNECTION_LOST", "TIMEOUT", "PROTOCOL_VIOLATION", "LOCAL_CODES",
    "AuthorizationURL", "ClientToken", "Health", "IdTokenCheck", "Introspection", "JWKS", "LogoutToken",
    "LogoutURI", "RegisteredSite", "RemovedSite", "Site", "Stats", "Tokens", "UserInfo",
]
