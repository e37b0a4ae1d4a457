"""Analysis queries (planner.analysis) on DuckDB and PostgreSQL, with data seeded via the ORM."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from planner import analysis
from planner.analysis.timelines import stage_offsets
from planner.db import Database
from tests.rows import T0, generation, user


def test_history_is_paged_filtered_and_private(db: Database) -> None:
    alice = user(db, "alice")
    bob = user(db, "bob")
    for i in range(7):
        generation(
            db,
            alice,
            created_at=T0 + timedelta(days=i),
            total_chars=40,
            strategy="resume" if i % 2 else "restart",
            fault_spec="drop-at-90" if i < 3 else "none",
            status="failed" if i == 6 else "completed",
            tier="failed" if i == 6 else "stream",
        )
    generation(db, bob, total_chars=40, description="bob's secret")

    page1 = analysis.history_page(db, alice, page=1, page_size=3)
    page3 = analysis.history_page(db, alice, page=3, page_size=3)
    assert len(page1) == 3 and len(page3) == 1
    assert list(page1["created_at"]) == sorted(page1["created_at"], reverse=True)
    assert page1["created_at"].iloc[0] == T0 + timedelta(days=6)
    assert analysis.history_count(db, alice) == 7
    assert "bob's secret" not in set(page1["description"]) | set(page3["description"])

    only_failed = analysis.HistoryFilter(statuses=("failed",))
    assert analysis.history_count(db, alice, only_failed) == 1
    restart_drop = analysis.HistoryFilter(strategies=("restart",), faults=("drop-at-90",))
    assert analysis.history_count(db, alice, restart_drop) == 2  # days 0 and 2
    window = analysis.HistoryFilter(since=date(2026, 11, 2), until=date(2026, 11, 3))
    frame = analysis.history_page(db, alice, window)
    assert sorted(frame["created_at"].dt.day) == [2, 3]
    assert analysis.history_options(db, alice) == {
        "statuses": ["completed", "failed"],
        "strategies": ["restart", "resume"],
        "faults": ["drop-at-90", "none"],
    }
    stranger = user(db, "carol")
    assert analysis.history_count(db, stranger) == 0
    assert analysis.history_page(db, stranger).empty
    with pytest.raises(ValueError, match="positive"):
        analysis.history_page(db, alice, page=0)


def test_get_generation_and_running_lookup_respect_the_owner(db: Database) -> None:
    alice = user(db, "alice")
    bob = user(db, "bob")
    done = generation(db, alice, total_chars=20)
    running = generation(
        db,
        alice,
        status="running",
        tier=None,
        total_chars=20,
        created_at=T0 + timedelta(minutes=1),
    )
    assert analysis.get_generation(db, done, alice)["status"] == "completed"
    assert analysis.get_generation(db, done, bob) is None
    assert analysis.running_generation(db, alice) == running
    queued = generation(
        db,
        alice,
        status="queued",
        tier=None,
        total_chars=20,
        created_at=T0 + timedelta(minutes=2),
    )
    assert analysis.running_generation(db, alice) == queued
    assert analysis.running_generation(db, bob) is None


def test_chunk_timeline_full_and_downsampled(db: Database) -> None:
    alice = user(db, "alice")
    gid = generation(db, alice, fail_at_char=900, total_chars=1000, chunk_chars=1)
    full = analysis.chunk_timeline(db, gid, max_points=5000)
    assert len(full) == 1000 and set(full["chunks"]) == {1}
    assert full["chars_end"].iloc[-1] == 1000

    small = analysis.chunk_timeline(db, gid, max_points=50)
    assert len(small) <= 50 + 2
    assert small["chunks"].sum() == 1000
    last = small.groupby("attempt")["chars_end"].max().to_dict()
    assert last == {1: 900, 2: 1000}
    assert small["t_s"].is_monotonic_increasing

    attempts = analysis.attempts_table(db, gid)
    assert list(attempts["kind"]) == ["stream", "resume"]
    markers = analysis.fault_markers(attempts)
    assert markers[["attempt", "chars_end", "error_type"]].values.tolist() == [
        [1, 900, "RemoteProtocolError"]
    ]
    assert markers["t_s"].iloc[0] == pytest.approx(4.5)
    csv = analysis.timeline_csv(db, gid)
    assert csv.splitlines()[0] == "seq,attempt,stage,char_offset,chars,t_ms"
    assert len(csv.splitlines()) == 1001

    empty = generation(db, alice, total_chars=0)
    assert analysis.chunk_timeline(db, empty).empty
    assert analysis.fault_markers(analysis.attempts_table(db, empty)).empty


def test_progress_recoveries_and_text_tail(db: Database) -> None:
    alice = user(db, "alice")
    gid = generation(db, alice, fail_at_char=90, total_chars=100, chunk_chars=10)
    progress = analysis.latest_progress(db, gid)
    assert progress["chars"] == 100 and progress["attempt"] == 2
    rec = analysis.recoveries(db, gid)
    assert rec[["attempt", "tier", "resume_from_char"]].values.tolist() == [[1, "resume", 90]]
    tail = analysis.text_tail(db, gid, max_chars=25)
    assert tail == "xxxx1" + "xxxxxxxxx1" + "xxxxxxxxx2"
    log = analysis.events_log(db, gid, exclude=("masterplan_text_delta",))
    assert list(log["name"]) == [
        "masterplan_tokens_progress",
        "masterplan_recovery",
        "masterplan_tokens_progress",
    ]


def test_assemble_tail_rewrites_on_restart_and_overlap() -> None:
    deltas = [(0, "hello "), (6, "world"), (0, "HELLO "), (6, "WOR"), (8, "RLD!")]
    assert analysis.assemble_tail(deltas, 100) == "HELLO WORLD!"
    assert analysis.assemble_tail(deltas, 4) == "RLD!"
    long_stream = [(i * 10, f"{i:010d}") for i in range(100)]
    assert analysis.assemble_tail(long_stream, 15) == "00098" + "0000000099"
    assert analysis.assemble_tail([], 10) == ""


def test_statistics_tiers_success_and_overhead(db: Database) -> None:
    alice = user(db, "alice")
    bob = user(db, "bob")
    for _ in range(2):  # baseline: 10 s for 1000 tokens
        generation(db, alice, total_chars=10, duration_s=10.0, output_tokens=1000)
    generation(
        db,
        alice,
        total_chars=10,
        fault_spec="drop-at-90",
        tier="resume",
        duration_s=15.0,
        output_tokens=1100,
        wasted_output_tokens=100,
    )
    generation(
        db,
        alice,
        total_chars=10,
        strategy="hybrid",
        fault_spec="drop-at-90",
        status="failed",
        tier="failed",
        duration_s=5.0,
        output_tokens=900,
    )
    generation(
        db,
        alice,
        total_chars=10,
        fault_spec="drop-at-90",
        speed=50.0,
        duration_s=1.0,
        output_tokens=1000,
    )
    generation(db, alice, total_chars=10, status="running", tier=None)
    generation(db, alice, total_chars=10, status="queued", tier=None)
    generation(db, bob, total_chars=10, strategy="restart", status="failed", tier="failed")

    tiers = analysis.tier_counts(db, alice)
    assert tiers.values.tolist() == [
        ["hybrid", "failed", 1],
        ["resume", "resume", 1],
        ["resume", "stream", 3],
    ]
    matrix = analysis.success_matrix(db, alice)
    rows = {
        (r.strategy, r.fault_spec): (r.runs, r.completed, r.success_rate)
        for r in matrix.itertuples()
    }
    assert rows == {
        ("hybrid", "drop-at-90"): (1, 0, 0.0),
        ("resume", "drop-at-90"): (2, 2, 1.0),
        ("resume", "none"): (2, 2, 1.0),
    }

    frame = analysis.outcomes(db, alice)
    assert len(frame) == 5  # the running and the queued one are not outcomes
    resumed = frame[frame["tier"] == "resume"].iloc[0]
    assert resumed["overhead_ratio"] == pytest.approx(1.5)
    assert resumed["overhead_s"] == pytest.approx(5.0)
    assert resumed["wasted_ratio"] == pytest.approx(100 / 1100)
    fast = frame[frame["speed"] == 50.0].iloc[0]
    assert math.isnan(fast["overhead_ratio"])  # no fault-free baseline at that speed
    summary = analysis.summary_by(frame, "wasted_output_tokens")
    assert summary.set_index("strategy").loc["resume", "max"] == 100
    assert analysis.describe(frame["overhead_ratio"])["count"] == 3  # 2 baselines + resumed
    assert math.isnan(frame[frame["status"] == "failed"].iloc[0]["overhead_ratio"])

    nobody = user(db, "dave")
    assert analysis.tier_counts(db, nobody).empty
    assert analysis.success_matrix(db, nobody).empty
    assert analysis.outcomes(db, nobody).empty
    assert analysis.describe(analysis.outcomes(db, nobody)["overhead_ratio"])["count"] == 0


def test_plan_tables_with_dependencies_are_private(db: Database) -> None:
    alice = user(db, "alice")
    bob = user(db, "bob")
    gid = generation(db, alice, total_chars=10, with_plan=True)
    plan_id = analysis.get_generation(db, gid, alice)["masterplan_id"]
    assert analysis.load_plan(db, plan_id, bob) is None
    tables = analysis.load_plan(db, plan_id, alice)
    assert tables.plan["project_name"] == "Bakery Orders"
    tasks = analysis.task_table(tables)
    assert tasks[["task_number", "phase", "complexity", "depends_on"]].values.tolist() == [
        [1, "Phase 1: Foundation", "low", ""],
        [2, "Phase 2: Ordering", "high", "T1"],
        [3, "Phase 2: Ordering", "critical", "T1, T2"],
    ]
    assert len(tables.subtasks) == 4


def test_histogram_bins_are_shared_and_sum_to_the_rows() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "strategy": ["resume"] * 3 + ["restart"] * 2 + ["none"],
            "wasted": [0, 10, 20, 30, 40, None],
        }
    )
    bins = analysis.histogram(frame, "wasted", bins=4)
    assert bins.groupby("group")["count"].sum().to_dict() == {"restart": 2, "resume": 3}
    assert bins["bin_start"].min() == 0 and bins["bin_end"].max() == 40
    assert analysis.histogram(frame.iloc[0:0], "wasted").empty
    same = analysis.histogram(pd.DataFrame({"strategy": ["a", "a"], "wasted": [5, 5]}), "wasted")
    assert same["count"].tolist() == [2]


def test_a_held_duckdb_file_stays_open_across_a_pages_queries(duckdb: Database) -> None:
    """What app.py does around a page: the file is opened once, and given back after."""
    from planner.db.duckdb_lock import guard_for

    guard = guard_for(duckdb.path)
    alice = user(duckdb, "alice")
    gid = generation(duckdb, alice, total_chars=30)
    assert not guard.held
    with duckdb.held():
        with duckdb.held():  # nested blocks share the outer one
            assert analysis.get_generation(duckdb, gid, alice)["id"] == gid
        assert guard.held  # between the queries too
        assert len(analysis.chunk_timeline(duckdb, gid)) == 3
        assert analysis.history_count(duckdb, alice) == 1
    duckdb.close()  # the linger ends with the handle
    assert not guard.held


def test_attempts_are_explained_with_their_own_tier_and_repairs_are_not_streams() -> None:
    attempts = pd.DataFrame(
        {
            "number": [1, 2, 3, 4, 5],
            "stage": ["discovery", "discovery", "masterplan", "plan_repair", "masterplan"],
            "kind": ["stream", "resume", "stream", "stream", "stream"],
            "resume_from_char": [0, 300, 0, 0, 0],
            "chars": [300, 200, 900, 4000, 10],
            "error_type": ["connection_dropped", None, None, None, None],
            "error_message": ["peer closed connection", None, None, None, None],
        }
    )
    explained = analysis.explain_attempts(attempts)
    assert explained["tier"].tolist() == ["stream", "resume", "stream", "repair", "restart"]
    assert "failed (connection_dropped: peer closed connection)" in explained["why"][0]
    assert "from character 300 after attempt 1 failed" in explained["why"][1]
    assert "complete but invalid" in explained["why"][3]
    assert "None" not in " ".join(explained["why"])
    assert analysis.split_reason("connection_dropped: peer closed connection (resume)") == (
        "connection_dropped",
        "peer closed connection",
    )


def test_the_timeline_counts_characters_over_the_whole_generation(db: Database) -> None:
    alice = user(db, "alice")
    gid = generation(db, alice, fail_at_char=400, total_chars=1000, chunk_chars=100)
    timeline = analysis.chunk_timeline(db, gid)
    assert timeline["generation_chars"].tolist() == timeline["chars_end"].tolist()  # one stage
    offsets = stage_offsets(
        pd.Series(["discovery", "discovery", "masterplan", "plan_repair"]),
        pd.Series([300, 500, 900, 4000]),
    )
    assert offsets == {"discovery": 0, "masterplan": 500, "plan_repair": 1400}


def test_fault_profiles_and_strategies_are_described_in_words_from_their_registries() -> None:
    drop = analysis.describe_faults("drop-at-90")
    assert drop.startswith("reset: close the TCP connection mid-body")
    assert "at 90% of the answer, on the first request of each stage" in drop
    flaky = analysis.describe_faults("flaky")
    assert "each time with probability 15% (drawn from the seed)" in flaky
    assert "retry after 1 s" in flaky and "None" not in flaky
    assert "after 134 s" in analysis.describe_faults("cutoff-134s")
    assert analysis.describe_faults("none") == "no faults: a clean run"
    assert analysis.describe_faults("[{").startswith("not a valid fault spec")
    assert "non-streaming retry" in analysis.describe_strategy("hybrid")
