"""`planner users add`, `planner token` and `planner db upgrade`, run in-process with
click's CliRunner as a user runs them."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

from planner import auth
from planner.cli import main
from planner.config import reset_settings
from planner.db import Database, head_revision
from tests.conftest import planner_stderr


def test_db_upgrade_creates_the_schema_and_is_repeatable(
    home_db: Database, invoke, planner_home: Path
) -> None:  # noqa: ANN001
    first = invoke("db", "upgrade")
    assert first.exit_code == 0, first.stderr
    assert "newest schema" in first.stderr
    assert (planner_home / "planner.duckdb").exists()
    assert home_db.current_revision() == head_revision()
    again = invoke("db", "upgrade")
    assert again.exit_code == 0, again.stderr


def test_users_add_with_password_stdin_creates_a_user_who_can_log_in(
    home_db: Database, invoke
) -> None:  # noqa: ANN001
    result = invoke("users", "add", "alice", "--password-stdin", input="s3cret pass\n")
    assert result.exit_code == 0, result.stderr
    assert "created user 'alice'" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert auth.authenticate(home_db, "alice", "s3cret pass").username == "alice"


def test_duplicate_user_is_refused_with_a_clear_message(home_db: Database, invoke) -> None:  # noqa: ANN001
    first = invoke("users", "add", "alice", "--password-stdin", input="first pass\n")
    assert first.exit_code == 0, first.stderr
    again = invoke("users", "add", "Alice", "--password-stdin", input="second pass\n")
    assert again.exit_code != 0
    assert "a user called 'alice' already exists" in again.stderr
    assert "Traceback" not in again.stderr
    assert auth.authenticate(home_db, "alice", "first pass").username == "alice"


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("bad name", "good password", "may use only letters"),
        ("x" * 65, "good password", "the limit is 64"),
        ("bob", "", "the password is empty"),
        ("bob", "short", "at least 8 characters"),
        ("local", "good password", "reserved"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(
    home_db: Database,
    invoke,  # noqa: ANN001
    name: str,
    password: str,
    message: str,
) -> None:
    result = invoke("users", "add", name, "--password-stdin", input=password + "\n")
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(auth.InvalidCredentials):
        auth.authenticate(home_db, name, password)


def test_users_add_without_a_terminal_asks_for_password_stdin(invoke) -> None:  # noqa: ANN001
    result = invoke("users", "add", "alice", input="")
    assert result.exit_code != 0
    assert "--password-stdin" in result.stderr


def test_token_prints_an_access_jwt_that_verifies(home_db: Database, invoke) -> None:  # noqa: ANN001
    invoke("users", "add", "alice", "--password-stdin", input="s3cret pass\n")
    result = invoke("token", "alice")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = auth.verify_access_token(home_db, token)
    assert claims.username == "alice"
    assert claims.user_id == auth.get_user(home_db, "alice").id


def test_token_for_an_unknown_user_fails_clearly(invoke) -> None:  # noqa: ANN001
    result = invoke("token", "ghost")
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "no user called 'ghost'" in result.stderr


def test_token_for_the_local_user_is_refused(home_db: Database, invoke) -> None:  # noqa: ANN001
    auth.get_or_create_local_user(home_db)
    result = invoke("token", "local")
    assert result.exit_code != 0
    assert "cannot log in" in result.stderr


def test_a_short_jwt_secret_is_refused_with_a_clear_message(invoke) -> None:  # noqa: ANN001
    result = invoke("db", "upgrade", PLANNER_JWT_SECRET="too-short")
    assert result.exit_code != 0
    assert "PLANNER_JWT_SECRET is 9 bytes" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/planner", "Connection refused"),
        ("postgresql+psycopg://postgres@no-such-host.invalid/planner", "no-such-host.invalid"),
        ("postgres://nowhere", "no driver"),
        ("planner.duckdb", "not a database URL"),
    ],
)
def test_a_database_that_is_down_or_misnamed_is_one_line_and_exit_6(
    url: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_DATABASE_URL", url)
    reset_settings()
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 6, result.output
    [line] = planner_stderr(result)
    assert line.startswith("planner: db upgrade: cannot use the database ") and reason in line
    assert result.stdout == ""


def test_users_list_passwd_and_delete_manage_accounts_from_the_cli(home_db: Database) -> None:
    def run(*args: str, input: str | None = None):  # noqa: A002, ANN202
        return CliRunner().invoke(main, list(args), input=input)

    assert run("users", "add", "alice", "--password-stdin", input="first pass\n").exit_code == 0
    assert run("users", "add", "bob", "--password-stdin", input="bobs pass\n").exit_code == 0
    listed = run("users", "list")
    assert listed.exit_code == 0, listed.output
    names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert names == ["alice", "bob"]

    changed = run("users", "passwd", "ALICE", "--password-stdin", input="second pass\n")
    assert changed.exit_code == 0, changed.output
    assert "changed the password of 'alice'" in changed.stderr
    assert auth.authenticate(home_db, "alice", "second pass").username == "alice"
    with pytest.raises(auth.InvalidCredentials):
        auth.authenticate(home_db, "alice", "first pass")
    short = run("users", "passwd", "alice", "--password-stdin", input="short\n")
    assert short.exit_code == 2
    assert "at least 8 characters" in short.stderr
    assert auth.authenticate(home_db, "alice", "second pass").username == "alice"

    unconfirmed = run("users", "delete", "bob")
    assert unconfirmed.exit_code == 2
    assert "add --yes" in unconfirmed.stderr
    deleted = run("users", "delete", "bob", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert [u.username for u in auth.list_users(home_db)] == ["alice"]
    gone = run("users", "delete", "bob", "--yes")
    assert gone.exit_code == 3
    assert "there is no user called 'bob'" in gone.stderr
