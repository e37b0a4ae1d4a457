"""Sessions that end: refresh-token families recorded server-side, rotated on every use.

A login starts a *family* (`session_families`): a chain of refresh tokens of which only
the newest is valid. The server keeps the newest token's id, never the token:

- `start_session` makes the family and its first refresh token, and an access token
  bound to it (`fam` claim);
- `refresh_session` (a new tab, a reload: the browser shows its saved refresh token)
  rotates: the shown token is replaced by a new one and a new access token is issued;
- a replaced token shown again is *reuse*: someone holds a copy, so the whole family is
  ended at once (the thief's and the owner's tokens alike) and `TokenReused` is raised.
  The one exception is the token replaced in the last `REUSE_GRACE`, which two tabs
  opening together both show: it gets an access token but no new refresh token;
- `renew_access` gives a live session (which keeps its family id server-side, in
  `st.session_state`) a fresh short-lived access token while its family is on, without
  touching the refresh token, so tabs never race each other over rotation;
- `end_session` (log out), `end_sessions` (a password change, an administrator, a user's
  deletion) end families; every refresh and access token issued under them is refused
  from then on (`planner.auth` checks the family on each verification).

`planner.auth.change_password` (`planner users passwd`) ends every session of the user;
deleting the user (`planner users delete`) removes them with the user.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from planner import auth
from planner.db import Database, SessionFamily, User, utcnow

REUSE_GRACE = timedelta(seconds=30)
BROWSER = "browser"
SCRIPT = "script"


@dataclass(frozen=True)
class SessionTokens:
    """What a login or a refresh hands out. `refresh_token` is None when the shown token
    stays the browser's (the grace case) or the session has none (a script token)."""

    family_id: uuid.UUID
    access_token: str
    refresh_token: str | None
    refresh_expires_at: datetime | None


def start_session(db: Database, user: User, *, kind: str = BROWSER) -> SessionTokens:
    """A new family for `user`: its first refresh token (browser) and an access token."""
    if not user.can_login:
        raise auth.InvalidCredentials(f"the user {user.username!r} cannot log in")
    db.ensure_schema()
    jti = uuid.uuid4().hex
    now = utcnow()
    ttl = auth.REFRESH_TOKEN_TTL if kind == BROWSER else auth.ACCESS_TOKEN_TTL
    family = SessionFamily(
        user_id=user.id, kind=kind, current_jti=jti, last_used_at=now, expires_at=now + ttl
    )
    db.in_session(lambda session: session.add(family))
    access = auth.issue_access_token(user, family_id=family.id)
    if kind != BROWSER:
        return SessionTokens(family.id, access, None, None)
    refresh = auth.issue_token(
        user, "refresh", auth.REFRESH_TOKEN_TTL, family_id=family.id, jti=jti
    )
    return SessionTokens(family.id, access, refresh, family.expires_at)


def refresh_session(db: Database, refresh_token: str) -> SessionTokens:
    """Rotate a family's refresh token; reuse of a replaced one ends the family.

    A TokenError for anything refused: expired, forged, another type, a token outside any
    session record, an ended session (`TokenRevoked`), reuse (`TokenReused`).
    """
    claims = auth.verify_refresh_token(db, refresh_token)  # also: the family is on
    if claims.family_id is None:
        raise auth.TokenRevoked("this saved login predates revocable sessions; log in again")
    new_jti = uuid.uuid4().hex

    def rotate(session: Session) -> tuple[User, SessionFamily, bool]:
        # PostgreSQL: two tabs rotating at once queue here; DuckDB has no row locks (and
        # its writers are one process under planner's file lock).
        locking = session.get_bind().dialect.name != "duckdb"
        family = session.get(SessionFamily, claims.family_id, with_for_update=locking)
        user = session.get(User, claims.user_id)
        if user is None:
            raise auth.TokenUserGone("the token's user no longer exists")
        auth.check_family(family, user.id)
        now = utcnow()
        if claims.jti == family.current_jti:
            family.previous_jti, family.current_jti = family.current_jti, new_jti
            family.rotated_at = family.last_used_at = now
            family.expires_at = now + auth.REFRESH_TOKEN_TTL
            return user, family, True
        in_grace = (
            claims.jti == family.previous_jti
            and family.rotated_at is not None
            and now - family.rotated_at <= REUSE_GRACE
        )
        if in_grace:
            family.last_used_at = now
            return user, family, False
        family.revoked_at, family.revoked_reason = now, "reuse"
        return user, family, False

    user, family, rotated = db.in_session(rotate)
    if family.revoked_reason == "reuse":
        raise auth.TokenReused(
            "this saved login was replaced and used again, so every session of it was "
            "ended for safety; log in again"
        )
    access = auth.issue_access_token(user, family_id=family.id)
    if not rotated:
        return SessionTokens(family.id, access, None, None)
    refresh = auth.issue_token(
        user, "refresh", auth.REFRESH_TOKEN_TTL, family_id=family.id, jti=new_jti
    )
    return SessionTokens(family.id, access, refresh, family.expires_at)


def renew_access(db: Database, family_id: uuid.UUID) -> str:
    """A fresh access token for a live session whose family is still on (else TokenError)."""
    db.ensure_schema()

    def read(session: Session) -> tuple[SessionFamily | None, User | None]:
        family = session.get(SessionFamily, family_id)
        return family, session.get(User, family.user_id) if family is not None else None

    family, user = db.in_session(read)
    if family is None:
        raise auth.TokenRevoked("this session no longer exists; log in again")
    if user is None:
        raise auth.TokenUserGone("the token's user no longer exists")
    auth.check_family(family, user.id)
    return auth.issue_access_token(user, family_id=family.id)


def end_session(db: Database, family_id: uuid.UUID, *, reason: str = "logout") -> bool:
    """End one session (logging out); False if it was already over or never existed."""
    db.ensure_schema()
    return _revoke(db, SessionFamily.id == family_id, reason) > 0


def end_sessions(db: Database, user: User | str, *, reason: str = "admin") -> int:
    """End every session of `user` (a User or a username); returns how many were on."""
    target = auth.get_user(db, user) if isinstance(user, str) else user
    return auth.end_user_sessions(db, target.id, reason=reason)


def _revoke(db: Database, which, reason: str) -> int:  # noqa: ANN001
    def revoke(session: Session) -> int:
        result = session.execute(
            update(SessionFamily)
            .where(which, SessionFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    return db.in_session(revoke)


def active_sessions(db: Database, user: User) -> list[SessionFamily]:
    """The user's sessions that are still on, newest first."""
    db.ensure_schema()

    def read(session: Session) -> list[SessionFamily]:
        rows = session.scalars(
            select(SessionFamily)
            .where(SessionFamily.user_id == user.id, SessionFamily.revoked_at.is_(None))
            .where(SessionFamily.expires_at > utcnow())
            .order_by(SessionFamily.created_at.desc())
        )
        return list(rows)

    return db.in_session(read)
