"""Planner's data is its owner's alone: real folders and files, as a process leaves them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from planner.auth import create_user
from planner.config import get_settings
from planner.db import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_home_its_database_wal_lock_and_secret_are_private(planner_home: Path) -> None:
    assert not planner_home.exists()
    with Database.from_settings() as db, db.held():
        db.ensure_schema()
        create_user(db, "alice", "correct horse battery")
        wal = planner_home / "planner.duckdb.wal"
        assert wal.exists(), "the held file keeps its WAL until the checkpoint at close"
        assert mode(wal) == 0o600
    assert mode(planner_home) == 0o700
    assert mode(planner_home / "planner.duckdb") == 0o600
    assert mode(planner_home / "planner.duckdb.lock") == 0o600
    get_settings().jwt_secret()
    assert mode(planner_home / "jwt_secret") == 0o600
    leftovers = [p.name for p in planner_home.iterdir() if p.name.endswith(".new")]
    assert leftovers == [], "the temporary file the database was made under is gone"


def test_every_wal_duckdb_makes_anew_is_narrowed_after_the_unit_of_work(
    planner_home: Path,
) -> None:
    with Database.from_settings() as db:
        db.ensure_schema()
        for name in ("alice", "bobby", "carol"):  # each opens, writes, checkpoints, closes
            with db.held():
                create_user(db, name, "correct horse battery")
                assert mode(planner_home / "planner.duckdb.wal") == 0o600
        assert db.read(lambda c: c.execute(text("SELECT count(*) FROM users")).scalar()) == 3


def test_files_an_older_version_left_open_are_narrowed(planner_home: Path) -> None:
    with Database.from_settings() as db:
        db.ensure_schema()
    os.chmod(planner_home, 0o755)
    os.chmod(planner_home / "planner.duckdb", 0o644)
    with Database.from_settings() as db:
        db.ensure_schema()
        create_user(db, "alice", "correct horse battery")
    assert mode(planner_home) == 0o700
    assert mode(planner_home / "planner.duckdb") == 0o600


def test_folders_made_for_a_custom_path_are_private_and_a_shared_one_is_left_alone(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    path = shared / "made" / "by" / "planner" / "x.duckdb"
    with Database(f"duckdb:///{path}") as db:
        db.ensure_schema()
    assert mode(shared) == 0o755, "a folder the user chose keeps its mode"
    assert [mode(p) for p in (shared / "made", path.parent.parent, path.parent)] == [0o700] * 3
    assert mode(path) == 0o600


def test_a_planner_process_creates_its_data_private(run_cli, planner_home: Path) -> None:  # noqa: ANN001
    result = run_cli("users", "add", "alice", "--password-stdin", input="correct horse 1\n")
    assert result.returncode == 0, result.stderr
    assert mode(planner_home) == 0o700
    assert mode(planner_home / "planner.duckdb") == 0o600
    world = stat.S_IRWXG | stat.S_IRWXO
    assert [p.name for p in planner_home.iterdir() if p.stat().st_mode & world] == []
