"""Users, argon2id password hashes and HS256 JWTs.

Every refusal is its own `AuthError` subclass whose message a UI can show as it is:

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
        └── TokenUserGone        its user was deleted (also an UnknownUser)

Verification pins the algorithm to HS256 and requires `exp`, `iat`, `sub` and `type`;
a valid signature alone is not enough: the user must still exist and be able to log in.
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
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planner.config import get_settings
from planner.db import User, delete_user_rows, ensure_schema, session_scope, with_lock_retry

ALGORITHM = "HS256"
ACCESS_TOKEN_TTL = timedelta(minutes=60)
REFRESH_TOKEN_TTL = timedelta(days=30)
LOCAL_USERNAME = "local"
USERNAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
_USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "type"]

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters


class AuthError(Exception):
    """A refused authentication request; `str(error)` is a message for the user."""


class InvalidUsername(AuthError, ValueError):
    pass


class InvalidPassword(AuthError, ValueError):
    pass


class UserExists(AuthError):
    pass


class UnknownUser(AuthError, LookupError):
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


def get_user(username: str, *, database_url: str | None = None) -> User:
    """The user called `username` (case-insensitive), else UnknownUser."""
    ensure_schema(database_url)
    with session_scope(database_url) as session:
        user = _find(session, username)
    if user is None:
        raise UnknownUser(f"there is no user called {username!r}")
    return user


def create_user(username: str, password: str, *, database_url: str | None = None) -> User:
    """Create a user who can log in. Bad input raises and stores nothing."""
    validate_username(username)
    if username.lower() == LOCAL_USERNAME:
        raise InvalidUsername(f"{LOCAL_USERNAME!r} is reserved for the built-in user")
    validate_password(password, username=username)
    password_hash = hash_password(password)
    ensure_schema(database_url)

    def insert() -> User:
        with session_scope(database_url) as session:
            existing = _find(session, username)
            if existing is not None:
                raise UserExists(f"a user called {existing.username!r} already exists")
            user = User(username=username, password_hash=password_hash, can_login=True)
            session.add(user)
            return user

    try:
        return with_lock_retry(insert)
    except IntegrityError:  # lost a race with another process creating the same name
        raise UserExists(f"a user called {username!r} already exists") from None


def authenticate(username: str, password: str, *, database_url: str | None = None) -> User:
    """The user if the password is right, else InvalidCredentials (never says which part)."""
    refused = InvalidCredentials("wrong username or password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise refused
    ensure_schema(database_url)
    with session_scope(database_url) as session:
        user = _find(session, username)
    if user is not None and not user.can_login:
        raise InvalidCredentials(f"the user {user.username!r} cannot log in")
    if user is None or user.password_hash is None or not password:
        _verify_quietly(_dummy_hash(), password)
        raise refused
    if not _verify_quietly(user.password_hash, password):
        raise refused
    if _hasher.check_needs_rehash(user.password_hash):
        _store_hash(user.id, hash_password(password), database_url)
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


def _store_hash(user_id: uuid.UUID, password_hash: str, database_url: str | None) -> None:
    def store() -> None:
        with session_scope(database_url) as session:
            user = session.get(User, user_id)
            if user is not None:
                user.password_hash = password_hash

    with_lock_retry(store)


def delete_user(username: str, *, database_url: str | None = None) -> None:
    """Delete the user and everything they own; their tokens stop working at once."""
    ensure_schema(database_url)

    def remove() -> bool:
        with session_scope(database_url) as session:
            user = _find(session, username)
            return user is not None and delete_user_rows(session, user.id)

    if not with_lock_retry(remove):
        raise UnknownUser(f"there is no user called {username!r}")


def get_or_create_local_user(*, database_url: str | None = None) -> User:
    """The built-in `local` user that owns CLI generations: no password, cannot log in."""
    ensure_schema(database_url)

    def fetch_or_insert() -> User:
        with session_scope(database_url) as session:
            user = _find(session, LOCAL_USERNAME)
            if user is None:
                user = User(username=LOCAL_USERNAME, password_hash=None, can_login=False)
                session.add(user)
            return user

    try:
        return with_lock_retry(fetch_or_insert)
    except IntegrityError:  # another process created it between our read and insert
        return with_lock_retry(fetch_or_insert)


def _issue(user: User, token_type: str, ttl: timedelta) -> str:
    if not user.can_login:
        raise InvalidCredentials(f"the user {user.username!r} cannot log in")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "name": user.username,
        "type": token_type,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, get_settings().jwt_secret(), algorithm=ALGORITHM)


def issue_access_token(user: User) -> str:
    """A 60-minute HS256 access token for `user`."""
    return _issue(user, "access", ACCESS_TOKEN_TTL)


def issue_refresh_token(user: User) -> str:
    """A 30-day HS256 refresh token for `user` (not accepted where access is needed)."""
    return _issue(user, "refresh", REFRESH_TOKEN_TTL)


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


def _verify(token: str, expected_type: str, database_url: str | None) -> TokenClaims:
    claims = _decode(token)
    if claims["type"] != expected_type:
        raise TokenWrongType(
            f"a {claims['type']!r} token was given where an {expected_type!r} token is needed"
        )
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise TokenInvalid("the token's subject is not a user id") from None
    ensure_schema(database_url)
    with session_scope(database_url) as session:
        user = session.get(User, user_id)
    if user is None:
        raise TokenUserGone("the token's user no longer exists")
    if not user.can_login:
        raise TokenInvalid(f"the user {user.username!r} cannot log in")
    return TokenClaims(
        user_id=user.id,
        username=user.username,
        jti=str(claims.get("jti", "")),
        issued_at=datetime.fromtimestamp(claims["iat"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        token_type=expected_type,
    )


def verify_access_token(token: str, *, database_url: str | None = None) -> TokenClaims:
    """The claims of a valid access token of an existing user, else a TokenError."""
    return _verify(token, "access", database_url)


def verify_refresh_token(token: str, *, database_url: str | None = None) -> TokenClaims:
    """The claims of a valid refresh token (to issue a new access token)."""
    return _verify(token, "refresh", database_url)
