"""Users, password hashing and every JWT refusal, against a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher, Type
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import func, select

from planner import auth
from planner.config import get_settings
from planner.db import Database, User

PASSWORD = "correct horse battery"


@pytest.fixture
def db(duckdb: Database) -> Database:
    """Users and tokens on the default kind of database (both: the last test)."""
    return duckdb


def _user_rows(db: Database) -> list[tuple[str, str | None]]:
    with db.session() as session:
        return [(u.username, u.password_hash) for u in session.scalars(select(User))]


def _claims(db: Database, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "sub": str(auth.get_user(db, "alice").id),
        "name": "alice",
        "type": "access",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def alice(db: Database) -> User:
    return auth.create_user(db, "alice", PASSWORD)


@pytest.mark.real_password_hashing
def test_password_is_stored_as_an_argon2id_hash(db: Database, alice: User) -> None:
    [(name, stored)] = _user_rows(db)
    assert name == "alice"
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    hasher = PasswordHasher()
    assert hasher.verify(stored, PASSWORD)
    with pytest.raises(VerifyMismatchError):
        hasher.verify(stored, PASSWORD + "x")
    assert PasswordHasher(type=Type.ID).check_needs_rehash(stored) is False


def test_same_password_hashes_differently_for_two_users(db: Database, alice: User) -> None:
    auth.create_user(db, "bob", PASSWORD)
    hashes = [stored for _, stored in _user_rows(db)]
    assert len(set(hashes)) == 2


def test_authenticate_accepts_the_right_password_only(db: Database, alice: User) -> None:
    assert auth.authenticate(db, "alice", PASSWORD).id == alice.id
    assert auth.authenticate(db, "ALICE", PASSWORD).id == alice.id  # names are case-insensitive
    with pytest.raises(auth.InvalidCredentials, match="wrong username or password"):
        auth.authenticate(db, "alice", PASSWORD.upper())
    with pytest.raises(auth.InvalidCredentials, match="wrong username or password"):
        auth.authenticate(db, "nobody", PASSWORD)
    with pytest.raises(auth.InvalidCredentials):
        auth.authenticate(db, "alice", "")


def test_duplicate_user_is_refused_and_changes_nothing(db: Database, alice: User) -> None:
    before = _user_rows(db)
    for name in ("alice", "Alice", "ALICE"):
        with pytest.raises(auth.UserExists, match="already exists"):
            auth.create_user(db, name, "another password")
    assert _user_rows(db) == before
    assert auth.authenticate(db, "alice", PASSWORD).id == alice.id


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("", "empty"),
        ("a" * 65, "65 characters long; the limit is 64"),
        ("bad name", "only letters, digits"),
        ("-dash", "start with a letter or digit"),
        ("émile", "only letters, digits"),
        ("semi;colon", "only letters, digits"),
        ("local", "reserved"),
        ("LOCAL", "reserved"),
    ],
)
def test_bad_usernames_are_refused_and_change_nothing(
    db: Database, username: str, reason: str
) -> None:
    with pytest.raises(auth.InvalidUsername, match=reason):
        auth.create_user(db, username, PASSWORD)
    assert [name for name, _ in _user_rows(db)] == []


def test_longest_allowed_username_works(db: Database) -> None:
    name = "a" * 62 + ".b"
    auth.create_user(db, name, PASSWORD)
    assert auth.authenticate(db, name, PASSWORD).username == name


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "empty"),
        ("short", "at least 8"),
        ("x" * 1025, "at most 1024"),
        (" " * 12, "whitespace"),
        ("Carol.Smith", "cannot be the username"),
    ],
)
def test_bad_passwords_are_refused_and_change_nothing(
    db: Database, password: str, reason: str
) -> None:
    with pytest.raises(auth.InvalidPassword, match=reason):
        auth.create_user(db, "carol.smith", password)
    assert _user_rows(db) == []


def test_local_user_is_built_in_and_cannot_log_in(db: Database) -> None:
    local = auth.get_or_create_local_user(db)
    assert auth.get_or_create_local_user(db).id == local.id
    assert (local.username, local.password_hash, local.can_login) == ("local", None, False)
    with pytest.raises(auth.InvalidCredentials, match="cannot log in"):
        auth.authenticate(db, "local", "")
    with pytest.raises(auth.InvalidCredentials, match="cannot log in"):
        auth.authenticate(db, "local", "any password at all")
    with pytest.raises(auth.InvalidCredentials, match="cannot log in"):
        auth.issue_access_token(local)
    assert [name for name, _ in _user_rows(db)] == ["local"]


def test_access_token_carries_the_documented_claims(db: Database, alice: User) -> None:
    token = auth.issue_access_token(alice)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert claims["sub"] == str(alice.id)
    assert claims["name"] == "alice"
    assert claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 15 * 60  # short-lived: sessions renew them
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 60
    assert (
        claims["jti"]
        != jwt.decode(auth.issue_access_token(alice), options={"verify_signature": False})["jti"]
    )

    verified = auth.verify_access_token(db, token)
    assert verified.user_id == alice.id
    assert verified.username == "alice"
    assert verified.jti == claims["jti"]
    assert verified.expires_at == datetime.fromtimestamp(claims["exp"], UTC)


def test_refresh_token_lasts_30_days_and_verifies_as_refresh(db: Database, alice: User) -> None:
    token = auth.issue_refresh_token(alice)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["type"] == "refresh"
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600
    assert auth.verify_refresh_token(db, token).user_id == alice.id
    with pytest.raises(auth.TokenWrongType, match="'refresh' token was given"):
        auth.verify_access_token(db, token)
    with pytest.raises(auth.TokenWrongType):
        auth.verify_refresh_token(db, auth.issue_access_token(alice))


def test_alg_none_is_refused(db: Database, alice: User) -> None:
    unsigned = jwt.encode(_claims(db), key=None, algorithm="none")
    with pytest.raises(auth.TokenAlgorithmRefused, match="only HS256"):
        auth.verify_access_token(db, unsigned)
    stripped = auth.issue_access_token(alice).rsplit(".", 1)[0] + "."
    with pytest.raises(auth.TokenInvalid):
        auth.verify_access_token(db, stripped)


def test_other_algorithm_with_the_right_key_is_refused(db: Database, alice: User) -> None:
    token = jwt.encode(_claims(db), get_settings().jwt_secret(), algorithm="HS512")
    with pytest.raises(auth.TokenAlgorithmRefused, match="'HS512'"):
        auth.verify_access_token(db, token)


def test_token_signed_with_another_key_is_refused(db: Database, alice: User) -> None:
    token = jwt.encode(_claims(db), "another key that is long enough 1234567", algorithm="HS256")
    with pytest.raises(auth.TokenSignatureInvalid, match="signature"):
        auth.verify_access_token(db, token)


def test_tampered_payload_is_refused(db: Database, alice: User) -> None:
    header, _, signature = auth.issue_access_token(alice).split(".")
    bob = auth.create_user(db, "bob", PASSWORD)
    forged_payload = jwt.encode(_claims(db, sub=str(bob.id)), "x" * 40, algorithm="HS256").split(
        "."
    )[1]
    with pytest.raises(auth.TokenSignatureInvalid):
        auth.verify_access_token(db, f"{header}.{forged_payload}.{signature}")


def test_expired_token_is_refused(db: Database, alice: User) -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    token = jwt.encode(
        _claims(db, iat=past, exp=past + timedelta(minutes=60)),
        get_settings().jwt_secret(),
        algorithm="HS256",
    )
    with pytest.raises(auth.TokenExpired, match="expired"):
        auth.verify_access_token(db, token)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "type"])
def test_token_without_a_required_claim_is_refused(db: Database, alice: User, missing: str) -> None:
    claims = _claims(db)
    del claims[missing]
    token = jwt.encode(claims, get_settings().jwt_secret(), algorithm="HS256")
    with pytest.raises(auth.TokenInvalid, match=f"'{missing}'"):
        auth.verify_access_token(db, token)


@pytest.mark.parametrize(
    "token", ["", "   ", "not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30", "ä.ö.ü"]
)
def test_malformed_tokens_are_refused(db: Database, alice: User, token: str) -> None:
    with pytest.raises(auth.TokenInvalid):
        auth.verify_access_token(db, token)


def test_subject_that_is_not_a_user_id_is_refused(db: Database, alice: User) -> None:
    token = jwt.encode(_claims(db, sub="alice"), get_settings().jwt_secret(), algorithm="HS256")
    with pytest.raises(auth.TokenInvalid, match="subject"):
        auth.verify_access_token(db, token)


def test_token_of_a_deleted_user_is_refused_even_if_the_name_returns(
    db: Database, alice: User
) -> None:
    token = auth.issue_access_token(alice)
    auth.delete_user(db, "alice")
    with pytest.raises(auth.TokenUserGone, match="no longer exists") as refused:
        auth.verify_access_token(db, token)
    assert isinstance(refused.value, auth.UnknownUser)
    auth.create_user(db, "alice", PASSWORD)
    with pytest.raises(auth.TokenUserGone):
        auth.verify_access_token(db, token)
    with pytest.raises(auth.InvalidCredentials):
        auth.authenticate(db, "alice", "the old one is gone")


def test_deleting_an_unknown_user_says_so(db: Database) -> None:
    with pytest.raises(auth.UnknownUser, match="no user called 'ghost'"):
        auth.delete_user(db, "ghost")
    with pytest.raises(auth.UnknownUser, match="no user called 'ghost'"):
        auth.get_user(db, "ghost")


def test_every_refusal_is_an_auth_error_with_a_message() -> None:
    classes = [
        auth.InvalidUsername,
        auth.InvalidPassword,
        auth.UserExists,
        auth.UnknownUser,
        auth.InvalidCredentials,
        auth.TokenInvalid,
        auth.TokenAlgorithmRefused,
        auth.TokenSignatureInvalid,
        auth.TokenExpired,
        auth.TokenWrongType,
        auth.TokenUserGone,
    ]
    assert all(issubclass(cls, auth.AuthError) for cls in classes)
    assert all(issubclass(cls, auth.TokenError) for cls in classes[5:])
    assert not issubclass(auth.InvalidCredentials, auth.TokenError)


def test_users_and_tokens_work_on_both_databases(db: Database, empty_db: Database) -> None:
    db = empty_db
    user = auth.create_user(db, "dora", PASSWORD)
    token = auth.issue_access_token(user)
    assert auth.verify_access_token(db, token).username == "dora"
    with pytest.raises(auth.UserExists):
        auth.create_user(db, "DORA", PASSWORD)
    local = auth.get_or_create_local_user(db)
    auth.delete_user(db, "dora")
    with pytest.raises(auth.TokenUserGone):
        auth.verify_access_token(db, token)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
        assert session.get(User, local.id) is not None
