"""Who is on a Socket.IO connection: the access JWT, checked at connect and on every event.

A client proves itself with `auth={"token": "<access JWT>"}` or an `Authorization: Bearer`
header. `planner.auth.verify_access_token` decides (HS256 only, unexpired, an access
token, a user who still exists and can log in); a refusal becomes a
`socketio.exceptions.ConnectionRefusedError` whose message and code reach the client in
its `connect_error` event. The token is verified again on every client event, so a token
that expires (or a user deleted) during a long connection is caught at the next event.
planner.auth judges expiry by the system clock; the endpoint also holds each token to its
`exp` by its own clock, which tests inject to let a token expire without waiting for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from socketio.exceptions import ConnectionRefusedError as SocketIORefusal

from planner import auth, errors
from planner.auth import TokenClaims
from planner.db import Database

_CODES: tuple[tuple[type[auth.AuthError], str], ...] = (
    (auth.TokenExpired, "token_expired"),
    (auth.TokenWrongType, "token_wrong_type"),
    (auth.TokenUserGone, "user_gone"),
    (auth.TokenRevoked, "token_revoked"),
    (auth.TokenAlgorithmRefused, "token_algorithm"),
    (auth.TokenSignatureInvalid, "token_signature"),
    (auth.TokenError, "token_invalid"),
)


class NotAuthenticated(errors.AuthError):
    """A connection or event without a usable access token; `code` is machine-readable."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def as_refusal(self) -> SocketIORefusal:
        return SocketIORefusal(self.message, {"code": self.code})


def token_from_handshake(environ: dict[str, Any], auth_payload: Any) -> str:
    """The bearer token of a connection attempt, from its auth payload or its headers."""
    if isinstance(auth_payload, dict) and auth_payload.get("token") is not None:
        token = auth_payload["token"]
        if not isinstance(token, str) or not token.strip():
            raise NotAuthenticated("the auth token must be a non-empty string", "token_missing")
        return token.strip()
    header = str(environ.get("HTTP_AUTHORIZATION") or "").strip()
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated(
                "the Authorization header must read 'Bearer <access token>'", "token_missing"
            )
        return token.strip()
    raise NotAuthenticated(
        'no access token: connect with auth={"token": "<access JWT>"} '
        "or an 'Authorization: Bearer <access JWT>' header",
        "token_missing",
    )


EXPIRED = "the token has expired; log in again"  # as planner.auth says it


def verify(db: Database, token: str, now: datetime) -> TokenClaims:
    """The token's claims at `now`, else NotAuthenticated with the reason planner.auth gave."""
    try:
        claims = auth.verify_access_token(db, token)
    except auth.AuthError as exc:
        code = next((c for kind, c in _CODES if isinstance(exc, kind)), "token_invalid")
        raise NotAuthenticated(str(exc), code) from exc
    if now >= claims.expires_at:
        raise NotAuthenticated(EXPIRED, "token_expired")
    return claims
