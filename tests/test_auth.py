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
from planner.db import User, ensure_schema, session_scope

PASSWORD = "correct horse battery"


def _user_rows(database_url: str | None = None) -> list[tuple[str, str | None]]:
    ensure_schema(database_url)
    with session_scope(database_url) as session:
        return [(u.username, u.password_hash) for u in session.scalars(select(User))]


def _claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "sub": str(auth.get_user("alice").id),
        "name": "alice",
        "type": "access",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def alice() -> User:
    return auth.create_user("alice", PASSWORD)


def test_password_is_stored_as_an_argon2id_hash(alice: User) -> None:
    [(name, stored)] = _user_rows()
    assert name == "alice"
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    hasher = PasswordHasher()
    assert hasher.verify(stored, PASSWORD)
    with pytest.raises(VerifyMismatchError):
        hasher.verify(stored, PASSWORD + "x")
    assert PasswordHasher(type=Type.ID).check_needs_rehash(stored) is False


def test_same_password_hashes_differently_for_two_users(alice: User) -> None:
    auth.create_user("bob", PASSWORD)
    hashes = [stored for _, stored in _user_rows()]
    assert len(set(hashes)) == 2


def test_authenticate_accepts_the_right_password_only(alice: User) -> None:
    assert auth.authenticate("alice", PASSWORD).id == alice.id
    assert auth.authenticate("ALICE", PASSWORD).id == alice.id  # names are case-insensitive
    with pytest.raises(auth.InvalidCredentials, match="wrong username or password"):
        auth.authenticate("alice", PASSWORD.upper())
    with pytest.raises(auth.InvalidCredentials, match="wrong username or password"):
        auth.authenticate("nobody", PASSWORD)
    with pytest.raises(auth.InvalidCredentials):
        auth.authenticate("alice", "")


def test_duplicate_user_is_refused_and_changes_nothing(alice: User) -> None:
    before = _user_rows()
    for name in ("alice", "Alice", "ALICE"):
        with pytest.raises(auth.UserExists, match="already exists"):
            auth.create_user(name, "another password")
    assert _user_rows() == before
    assert auth.authenticate("alice", PASSWORD).id == alice.id


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
def test_bad_usernames_are_refused_and_change_nothing(username: str, reason: str) -> None:
    with pytest.raises(auth.InvalidUsername, match=reason):
        auth.create_user(username, PASSWORD)
    assert [name for name, _ in _user_rows()] == []


def test_longest_allowed_username_works() -> None:
    name = "a" * 62 + ".b"
    auth.create_user(name, PASSWORD)
    assert auth.authenticate(name, PASSWORD).username == name


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
def test_bad_passwords_are_refused_and_change_nothing(password: str, reason: str) -> None:
    with pytest.raises(auth.InvalidPassword, match=reason):
        auth.create_user("carol.smith", password)
    assert _user_rows() == []


def test_local_user_is_built_in_and_cannot_log_in() -> None:
    local = auth.get_or_create_local_user()
    assert auth.get_or_create_local_user().id == local.id
    assert (local.username, local.password_hash, local.can_login) == ("local", None, False)
    with pytest.raises(auth.InvalidCredentials, match="cannot log in"):
        auth.authenticate("local", "")
    with pytest.raises(auth.InvalidCredentials, match="cannot log in"):
        auth.authenticate("local", "any password at all")
    with pytest.raises(auth.InvalidCredentials, match="cannot log in"):
        auth.issue_access_token(local)
    assert [name for name, _ in _user_rows()] == ["local"]


def test_access_token_carries_the_documented_claims(alice: User) -> None:
    token = auth.issue_access_token(alice)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert claims["sub"] == str(alice.id)
    assert claims["name"] == "alice"
    assert claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 60 * 60
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 60
    assert (
        claims["jti"]
        != jwt.decode(auth.issue_access_token(alice), options={"verify_signature": False})["jti"]
    )

    verified = auth.verify_access_token(token)
    assert verified.user_id == alice.id
    assert verified.username == "alice"
    assert verified.jti == claims["jti"]
    assert verified.expires_at == datetime.fromtimestamp(claims["exp"], UTC)


def test_refresh_token_lasts_30_days_and_verifies_as_refresh(alice: User) -> None:
    token = auth.issue_refresh_token(alice)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["type"] == "refresh"
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600
    assert auth.verify_refresh_token(token).user_id == alice.id
    with pytest.raises(auth.TokenWrongType, match="'refresh' token was given"):
        auth.verify_access_token(token)
    with pytest.raises(auth.TokenWrongType):
        auth.verify_refresh_token(auth.issue_access_token(alice))


def test_alg_none_is_refused(alice: User) -> None:
    unsigned = jwt.encode(_claims(), key=None, algorithm="none")
    with pytest.raises(auth.TokenAlgorithmRefused, match="only HS256"):
        auth.verify_access_token(unsigned)
    stripped = auth.issue_access_token(alice).rsplit(".", 1)[0] + "."
    with pytest.raises(auth.TokenInvalid):
        auth.verify_access_token(stripped)


def test_other_algorithm_with_the_right_key_is_refused(alice: User) -> None:
    token = jwt.encode(_claims(), get_settings().jwt_secret(), algorithm="HS512")
    with pytest.raises(auth.TokenAlgorithmRefused, match="'HS512'"):
        auth.verify_access_token(token)


def test_token_signed_with_another_key_is_refused(alice: User) -> None:
    token = jwt.encode(_claims(), "another key that is long enough 1234567", algorithm="HS256")
    with pytest.raises(auth.TokenSignatureInvalid, match="signature"):
        auth.verify_access_token(token)


def test_tampered_payload_is_refused(alice: User) -> None:
    header, _, signature = auth.issue_access_token(alice).split(".")
    bob = auth.create_user("bob", PASSWORD)
    forged_payload = jwt.encode(_claims(sub=str(bob.id)), "x" * 40, algorithm="HS256").split(".")[1]
    with pytest.raises(auth.TokenSignatureInvalid):
        auth.verify_access_token(f"{header}.{forged_payload}.{signature}")


def test_expired_token_is_refused(alice: User) -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    token = jwt.encode(
        _claims(iat=past, exp=past + timedelta(minutes=60)),
        get_settings().jwt_secret(),
        algorithm="HS256",
    )
    with pytest.raises(auth.TokenExpired, match="expired"):
        auth.verify_access_token(token)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "type"])
def test_token_without_a_required_claim_is_refused(alice: User, missing: str) -> None:
    claims = _claims()
    del claims[missing]
    token = jwt.encode(claims, get_settings().jwt_secret(), algorithm="HS256")
    with pytest.raises(auth.TokenInvalid, match=f"'{missing}'"):
        auth.verify_access_token(token)


@pytest.mark.parametrize(
    "token", ["", "   ", "not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30", "ä.ö.ü"]
)
def test_malformed_tokens_are_refused(alice: User, token: str) -> None:
    with pytest.raises(auth.TokenInvalid):
        auth.verify_access_token(token)


def test_subject_that_is_not_a_user_id_is_refused(alice: User) -> None:
    token = jwt.encode(_claims(sub="alice"), get_settings().jwt_secret(), algorithm="HS256")
    with pytest.raises(auth.TokenInvalid, match="subject"):
        auth.verify_access_token(token)


def test_token_of_a_deleted_user_is_refused_even_if_the_name_returns(alice: User) -> None:
    token = auth.issue_access_token(alice)
    auth.delete_user("alice")
    with pytest.raises(auth.TokenUserGone, match="no longer exists") as refused:
        auth.verify_access_token(token)
    assert isinstance(refused.value, auth.UnknownUser)
    auth.create_user("alice", PASSWORD)
    with pytest.raises(auth.TokenUserGone):
        auth.verify_access_token(token)
    with pytest.raises(auth.InvalidCredentials):
        auth.authenticate("alice", "the old one is gone")


def test_deleting_an_unknown_user_says_so() -> None:
    with pytest.raises(auth.UnknownUser, match="no user called 'ghost'"):
        auth.delete_user("ghost")
    with pytest.raises(auth.UnknownUser, match="no user called 'ghost'"):
        auth.get_user("ghost")


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


def test_users_and_tokens_work_on_both_databases(database_url: str) -> None:
    user = auth.create_user("dora", PASSWORD, database_url=database_url)
    token = auth.issue_access_token(user)
    assert auth.verify_access_token(token, database_url=database_url).username == "dora"
    with pytest.raises(auth.UserExists):
        auth.create_user("DORA", PASSWORD, database_url=database_url)
    local = auth.get_or_create_local_user(database_url=database_url)
    auth.delete_user("dora", database_url=database_url)
    with pytest.raises(auth.TokenUserGone):
        auth.verify_access_token(token, database_url=database_url)
    with session_scope(database_url) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
        assert session.get(User, local.id) is not None
