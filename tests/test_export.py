"""`planner export DIR`: every recorded table as Parquet, row counts that match."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from planner.db import Database
from planner.export import EXPORT_TABLES, ExportError, export_parquet
from tests.rows import TEXT, add_tree, add_user, recorded_generation


def _counts(db: Database) -> dict[str, int]:
    with db.connect() as connection:
        return {
            name: connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in EXPORT_TABLES
        }


def test_round_trip_on_both_databases(db: Database, tmp_path: Path) -> None:
    first = recorded_generation(db)
    recorded_generation(db)
    out = tmp_path / "export"

    exported = export_parquet(db, out, batch_rows=7)

    assert {e.table for e in exported} == set(EXPORT_TABLES)
    counts = _counts(db)
    assert counts["generation_chunks"] == 2 * len(range(0, len(TEXT), 40))
    for item in exported:
        assert item.rows == counts[item.table]
        assert pd.read_parquet(item.path).shape[0] == counts[item.table]
    chunks = pd.read_parquet(out / "generation_chunks.parquet")
    mine = chunks[chunks.generation_id == str(first)].sort_values("seq")
    assert mine.char_offset.tolist() == list(range(0, len(TEXT), 40))
    assert mine.seq.tolist() == list(range(1, len(mine) + 1))
    events = pd.read_parquet(out / "generation_events.parquet")
    delta = events[(events.generation_id == str(first)) & (events.seq == 2)].iloc[0]
    assert json.loads(delta.payload) == {"text": TEXT[:40], "from_char": 0}
    generations = pd.read_parquet(out / "generations.parquet")
    assert generations.started_at.dtype.kind == "M"
    joined = duckdb.sql(
        f"SELECT g.tier, count(*) AS n FROM '{out}/generations.parquet' g "
        f"JOIN '{out}/generation_attempts.parquet' a ON a.generation_id = g.id "
        "WHERE a.error_type IS NOT NULL GROUP BY g.tier"
    ).fetchall()
    assert joined == [("resume", 2)]


def test_refuses_to_overwrite_and_exports_a_fresh_database_empty(tmp_path: Path) -> None:
    with Database(f"duckdb:///{tmp_path / 'fresh.duckdb'}") as db:
        fresh = export_parquet(db, tmp_path / "a")
        assert {e.rows for e in fresh} == {0}
        assert list(pd.read_parquet(tmp_path / "a" / "generations.parquet").columns)[:2] == [
            "id",
            "user_id",
        ]
        with pytest.raises(ExportError, match="--overwrite"):
            export_parquet(db, tmp_path / "a")
        recorded_generation(db)
        again = export_parquet(db, tmp_path / "a", overwrite=True)
        assert {e.table: e.rows for e in again}["generations"] == 1
        with pytest.raises(ExportError, match="unknown table users"):
            export_parquet(db, tmp_path / "b", tables=["users"])
        (tmp_path / "file").write_text("x")
        with pytest.raises(ExportError, match="not a directory"):
            export_parquet(db, tmp_path / "file")


def test_cli_prints_row_counts(invoke, home_db: Database, tmp_path: Path) -> None:  # noqa: ANN001
    home_db.ensure_schema()
    recorded_generation(home_db)
    result = invoke("export", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert "generation_chunks" in result.stdout
    assert "12" in result.stdout.split("generation_chunks")[1].splitlines()[0]
    assert (tmp_path / "out" / "experiment_runs.parquet").exists()
    again = invoke("export", str(tmp_path / "out"))
    assert again.exit_code == 4  # a conflict: the files are there already
    assert "--overwrite" in again.stderr and again.stderr.startswith("planner: export: ")


def test_plans_are_exported_and_a_user_filter_keeps_only_that_users_rows(
    db: Database, tmp_path: Path
) -> None:
    mine = db.in_session(lambda session: add_tree(session, add_user(session, "alice")))
    theirs = db.in_session(lambda session: add_tree(session, add_user(session, "bob")))
    everything = {e.table: e.rows for e in export_parquet(db, tmp_path / "all")}
    for table in ("masterplans", "masterplan_phases", "masterplan_tasks", "discovery_documents"):
        assert everything[table] >= 2, table

    exported = export_parquet(db, tmp_path / "alice", user_id=mine.user_id)
    assert {e.table for e in exported} == set(EXPORT_TABLES)
    for item in exported:
        assert item.rows * 2 == everything[item.table], item.table  # half: alice's tree
    frame = pd.read_parquet(tmp_path / "alice" / "generations.parquet")
    assert frame.id.tolist() == [str(mine.generation_id)]
    plans = pd.read_parquet(tmp_path / "alice" / "masterplans.parquet")
    assert plans.id.tolist() == [str(mine.masterplan_id)]
    subtasks = pd.read_parquet(tmp_path / "alice" / "masterplan_subtasks.parquet")
    assert set(subtasks.masterplan_id) == {str(mine.masterplan_id)}
    runs = pd.read_parquet(tmp_path / "alice" / "experiment_runs.parquet")
    assert set(runs.experiment_id) == {str(mine.experiment_id)}
    assert str(theirs.generation_id) not in set(
        pd.read_parquet(tmp_path / "alice" / "generation_events.parquet").generation_id
    )


def test_cli_export_for_one_user(invoke, home_db: Database, tmp_path: Path) -> None:  # noqa: ANN001
    home_db.ensure_schema()
    home_db.in_session(lambda session: add_tree(session, add_user(session, "alice")))
    home_db.in_session(lambda session: add_tree(session, add_user(session, "bob")))
    result = invoke("export", str(tmp_path / "out"), "--user", "alice")
    assert result.exit_code == 0, result.stderr
    assert pd.read_parquet(tmp_path / "out" / "masterplans.parquet").shape[0] == 1
    unknown = invoke("export", str(tmp_path / "out2"), "--user", "nobody")
    assert unknown.exit_code == 3
    assert "there is no user called 'nobody'" in unknown.stderr
