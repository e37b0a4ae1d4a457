"""Users, argon2id password hashes and HS256 JWTs.

Every refusal is its own `AuthError` subclass whose message a UI can show as it is (under
`planner.errors.AuthError`; bad input, unknown and taken names are also the InputError,
NotFoundError and ConflictError they are, for their exit codes):

    AuthError
    ├── InvalidUsername          bad name (empty, too long, characters, reserved)
    ├── InvalidPassword          bad new password (too short, too long)
    ├── UserExists               the name is taken (case-insensitively)
    ├── UnknownUser              no user of that name
    ├── InvalidCredentials       wrong name/password, or a user who cannot log in
    └── TokenError               any refused token
        ├── TokenInvalid         malformed, a required claim missing
        │   ├── TokenAlgorithmRefused   not HS256 (e.g. `alg: none`)
        │   └── TokenSignatureInvalid   signed with another key
        ├── TokenExpired
        ├── TokenWrongType       a refresh token used as an access token, ...
        ├── TokenRevoked         its session was ended (log out, password change, ...)
        │   └── TokenReused      a replaced refresh token came back: the session is ended
        └── TokenUserGone        its user was deleted (also an UnknownUser)

Verification pins the algorithm to HS256 and requires `exp`, `iat`, `sub` and `type`;
a valid signature alone is not enough: the user must still exist and be able to log in,
and a token issued under a session (its `fam` claim, `planner.sessions`) only while that
session has not been ended.
Every function that reads or writes users takes the `Database` as its first argument.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planner import errors
from planner.config import get_settings
from planner.db import Database, SessionFamily, User, delete_user_rows, utcnow

ALGORITHM = "HS256"
# Short: a session renews its access token from the server-side session record, which
# logging out ends; an access token copied elsewhere is worth a quarter of an hour at most.
ACCESS_TOKEN_TTL = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=30)
LOCAL_USERNAME = "local"
USERNAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
_USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "type"]

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters


class AuthError(errors.AuthError):
    """A refused authentication request; `str(error)` is a message for the user."""


class InvalidUsername(errors.InputError, AuthError, ValueError):
    pass


class InvalidPassword(errors.InputError, AuthError, ValueError):
    pass


class UserExists(errors.ConflictError, AuthError):
    pass


class UnknownUser(errors.NotFoundError, AuthError, LookupError):
    pass


class InvalidCredentials(AuthError):
    pass


class TokenError(AuthError):
    pass


class TokenInvalid(TokenError):
    pass


class TokenAlgorithmRefused(TokenInvalid):
    pass


class TokenSignatureInvalid(TokenInvalid):
    pass


class TokenExpired(TokenError):
    pass


class TokenWrongType(TokenError):
    pass


class TokenRevoked(TokenError):
    pass


class TokenReused(TokenRevoked):
    pass


class TokenUserGone(TokenError, UnknownUser):
    pass


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says."""

    user_id: uuid.UUID
    username: str
    jti: str
    issued_at: datetime
    expires_at: datetime
    token_type: str = "access"
    family_id: uuid.UUID | None = None  # the session it was issued under, if any


def validate_username(username: str) -> str:
    """Return `username` if it is acceptable, else raise InvalidUsername saying why."""
    if not isinstance(username, str) or not username:
        raise InvalidUsername("the username is empty")
    if len(username) > USERNAME_MAX:
        raise InvalidUsername(
            f"the username is {len(username)} characters long; the limit is {USERNAME_MAX}"
        )
    if not _USERNAME_PATTERN.fullmatch(username):
        raise InvalidUsername(
            f"the username {username!r} may use only letters, digits, '.', '_' and '-', "
            "and must start with a letter or digit"
        )
    return username


def validate_password(password: str, *, username: str | None = None) -> str:
    """Return `password` if it is acceptable, else raise InvalidPassword saying why."""
    if not isinstance(password, str) or not password:
        raise InvalidPassword("the password is empty")
    if len(password) < PASSWORD_MIN:
        raise InvalidPassword(f"the password must be at least {PASSWORD_MIN} characters long")
    if len(password) > PASSWORD_MAX:
        raise InvalidPassword(f"the password must be at most {PASSWORD_MAX} characters long")
    if not password.strip():
        raise InvalidPassword("the password cannot be only whitespace")
    if username is not None and password.casefold() == username.casefold():
        raise InvalidPassword("the password cannot be the username")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _find(session: Session, username: str) -> User | None:
    statement = select(User).where(func.lower(User.username) == username.lower())
    return session.scalars(statement).first()


def get_user(db: Database, username: str) -> User:
    """The user called `username` (case-insensitive), else UnknownUser."""
    db.ensure_schema()
    user = db.in_session(lambda session: _find(session, username))
    if user is None:
        raise UnknownUser(f"there is no user called {username!r}")
    return user


def create_user(db: Database, username: str, password: str) -> User:
    """Create a user who can log in. Bad input raises and stores nothing."""
    validate_username(username)
    if username.lower() == LOCAL_USERNAME:
        raise InvalidUsername(f"{LOCAL_USERNAME!r} is reserved for the built-in user")
    validate_password(password, username=username)
    password_hash = hash_password(password)
    db.ensure_schema()

    def insert(session: Session) -> User:
        existing = _find(session, username)
        if existing is not None:
            raise UserExists(f"a user called {existing.username!r} already exists")
        user = User(username=username, password_hash=password_hash, can_login=True)
        session.add(user)
        return user

    try:
        return db.in_session(insert)
    except IntegrityError:  # lost a race with another process creating the same name
        raise UserExists(f"a user called {username!r} already exists") from None


def authenticate(db: Database, username: str, password: str) -> User:
    """The user if the password is right, else InvalidCredentials (never says which part)."""
    refused = InvalidCredentials("wrong username or password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise refused
    db.ensure_schema()
    user = db.in_session(lambda session: _find(session, username))
    if user is not None and not user.can_login:
        raise InvalidCredentials(f"the user {user.username!r} cannot log in")
    if user is None or user.password_hash is None or not password:
        _verify_quietly(_dummy_hash(), password)
        raise refused
    if not _verify_quietly(user.password_hash, password):
        raise refused
    if _hasher.check_needs_rehash(user.password_hash):
        _store_hash(db, user.id, hash_password(password))
    return user


@functools.cache
def _dummy_hash() -> str:
    """Unknown names are checked against this so a login takes as long as a wrong password."""
    return _hasher.hash("planner-dummy-password")


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _store_hash(db: Database, user_id: uuid.UUID, password_hash: str) -> None:
    def store(session: Session) -> None:
        user = session.get(User, user_id)
        if user is not None:
            user.password_hash = password_hash

    db.in_session(store)


def delete_user(db: Database, username: str) -> None:
    """Delete the user and everything they own; their tokens stop working at once."""
    db.ensure_schema()

    def remove(session: Session) -> bool:
        user = _find(session, username)
        return user is not None and delete_user_rows(session, user.id)

    if not db.in_session(remove):
        raise UnknownUser(f"there is no user called {username!r}")


def list_users(db: Database) -> list[User]:
    """Every user, oldest first (the built-in `local` user too)."""
    db.ensure_schema()
    statement = select(User).order_by(User.created_at, User.username)
    return db.in_session(lambda session: list(session.scalars(statement)))


def change_password(db: Database, username: str, password: str) -> User:
    """Give a user who can log in a new password; bad input raises and changes nothing."""
    user = get_user(db, username)
    if not user.can_login:
        raise InvalidUsername(f"the user {user.username!r} cannot log in; it has no password")
    validate_password(password, username=user.username)
    _store_hash(db, user.id, hash_password(password))
    end_user_sessions(db, user.id, reason="password")  # every token of the old password
    return user


def end_user_sessions(db: Database, user_id: uuid.UUID, *, reason: str) -> int:
    """End every session of the user (`planner.sessions`); how many were still on."""
    db.ensure_schema()

    def revoke(session: Session) -> int:
        result = session.execute(
            update(SessionFamily)
            .where(SessionFamily.user_id == user_id, SessionFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    return db.in_session(revoke)


def get_or_create_local_user(db: Database) -> User:
    """The built-in `local` user that owns CLI generations: no password, cannot log in."""
    db.ensure_schema()

    def fetch_or_insert(session: Session) -> User:
        user = _find(session, LOCAL_USERNAME)
        if user is None:
            user = User(username=LOCAL_USERNAME, password_hash=None, can_login=False)
            session.add(user)
        return user

    try:
        return db.in_session(fetch_or_insert)
    except IntegrityError:  # another process created it between our read and insert
        return db.in_session(fetch_or_insert)


def issue_token(
    user: User,
    token_type: str,
    ttl: timedelta,
    *,
    family_id: uuid.UUID | None = None,
    jti: str | None = None,
) -> str:
    """An HS256 token; under a session (`family_id`) it is valid only while that lasts."""
    if not user.can_login:
        raise InvalidCredentials(f"the user {user.username!r} cannot log in")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "name": user.username,
        "type": token_type,
        "iat": now,
        "exp": now + ttl,
        "jti": jti or uuid.uuid4().hex,
    }
    if family_id is not None:
        claims["fam"] = str(family_id)
    return jwt.encode(claims, get_settings().jwt_secret(), algorithm=ALGORITHM)


def issue_access_token(user: User, *, family_id: uuid.UUID | None = None) -> str:
    """A 15-minute HS256 access token for `user` (under the session `family_id`, if given)."""
    return issue_token(user, "access", ACCESS_TOKEN_TTL, family_id=family_id)


def issue_refresh_token(user: User) -> str:
    """A 30-day HS256 refresh token outside any session record (tests, tooling); the
    dashboard's come from `planner.sessions`, which can end them."""
    return issue_token(user, "refresh", REFRESH_TOKEN_TTL)


def _decode(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or not token.strip():
        raise TokenInvalid("no token was given")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise TokenInvalid("the token is not a well-formed JWT") from None
    if header.get("alg") != ALGORITHM:
        raise TokenAlgorithmRefused(
            f"the token is signed with {header.get('alg')!r}; only {ALGORITHM} is accepted"
        )
    try:
        return jwt.decode(
            token,
            get_settings().jwt_secret(),
            algorithms=[ALGORITHM],
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired("the token has expired; log in again") from None
    except jwt.InvalidSignatureError:
        raise TokenSignatureInvalid("the token's signature does not match this server") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenInvalid(f"the token lacks the required claim {exc.claim!r}") from None
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid(f"the token is invalid: {exc}") from None


def _verify(db: Database, token: str, expected_type: str) -> TokenClaims:
    claims = _decode(token)
    if claims["type"] != expected_type:
        raise TokenWrongType(
            f"a {claims['type']!r} token was given where an {expected_type!r} token is needed"
        )
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise TokenInvalid("the token's subject is not a user id") from None
    family_id = _family_claim(claims)
    db.ensure_schema()

    def read(session: Session) -> tuple[User | None, SessionFamily | None]:
        family = session.get(SessionFamily, family_id) if family_id is not None else None
        return session.get(User, user_id), family

    user, family = db.in_session(read)
    if user is None:
        raise TokenUserGone("the token's user no longer exists")
    if not user.can_login:
        raise TokenInvalid(f"the user {user.username!r} cannot log in")
    if family_id is not None:
        check_family(family, user.id)
    return TokenClaims(
        user_id=user.id,
        username=user.username,
        jti=str(claims.get("jti", "")),
        issued_at=datetime.fromtimestamp(claims["iat"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        token_type=expected_type,
        family_id=family_id,
    )


def _family_claim(claims: dict[str, Any]) -> uuid.UUID | None:
    if claims.get("fam") is None:
        return None
    try:
        return uuid.UUID(str(claims["fam"]))
    except ValueError:
        raise TokenInvalid("the token's session is not a session id") from None


def check_family(family: SessionFamily | None, user_id: uuid.UUID) -> SessionFamily:
    """The session if it is still on for `user_id`, else TokenRevoked saying why not."""
    if family is None or family.user_id != user_id:
        raise TokenRevoked("the session this token belongs to no longer exists; log in again")
    if family.revoked_at is not None:
        why = REVOKED_REASONS.get(family.revoked_reason or "", "it was ended")
        raise TokenRevoked(f"the session was ended ({why}); log in again")
    if family.expires_at <= utcnow():
        raise TokenExpired("the session has expired; log in again")
    return family


REVOKED_REASONS = {
    "logout": "logged out",
    "password": "the password was changed",
    "reuse": "a replaced login token was used again",
    "admin": "an administrator ended it",
}


def verify_access_token(db: Database, token: str) -> TokenClaims:
    """The claims of a valid access token of an existing user, else a TokenError."""
    return _verify(db, token, "access")


def verify_refresh_token(db: Database, token: str) -> TokenClaims:
    """The claims of a valid refresh token (to issue a new access token)."""
    return _verify(db, token, "refresh")
