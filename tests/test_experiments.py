"""Failure-mode experiments: the runner, its summary, and faults derived from a recording."""

from __future__ import annotations

import json
import math
import re
import uuid

import pandas as pd
import pytest

from planner.analysis.experiments import rank_strategies, summarize, with_measures
from planner.db import Database
from planner.experiments import derive_seed, split_faults
from planner.failures import FailureSpecError, failure_points, fault_spec_from_generation
from tests.rows import TEXT, recorded_generation


def test_split_faults_keeps_json_specs_whole() -> None:
    spec = '[{"type": "reset", "on_requests": [1, 2], "at_fraction": 0.5}]'
    assert split_faults(f"none, drop-at-90,{spec}") == ["none", "drop-at-90", spec]
    assert split_faults('[{"type": "sse_error", "error_type": "a,b"}],eof') == [
        '[{"type": "sse_error", "error_type": "a,b"}]',
        "eof",
    ]
    assert split_faults(" , ") == []


def test_fault_labels_are_short_and_say_where() -> None:
    from planner.analysis.experiments import fault_label

    assert fault_label("drop-at-90") == "drop-at-90"
    assert (
        fault_label(
            '[{"type": "reset", "at_fraction": 0.3, "on_requests": [1], "on_scope": "discovery"},'
            ' {"type": "http_error", "status": 529, "on_requests": [2, 3]},'
            ' {"type": "latency"}]'
        )
        == "reset(30%)@discovery#1+http_error#2,3+latency"
    )


def test_derived_seeds_are_stable_and_distinct() -> None:
    seeds = [derive_seed(7, r) for r in range(50)]
    assert seeds == [derive_seed(7, r) for r in range(50)]
    assert len(set(seeds)) == 50
    assert all(0 <= s < 2**31 for s in seeds)
    assert derive_seed(8, 0) != derive_seed(7, 0)


def test_failure_points_and_fault_spec_from_recorded_attempts(duckdb: Database) -> None:
    generation_id = recorded_generation(
        duckdb,
        attempts=[
            {
                "number": 1,
                "kind": "stream",
                "chars": 0,
                "error_type": "overloaded",
                "error_message": "the API is overloaded (529 overloaded_error): busy",
                "http_status": 529,
            },
            {
                "number": 2,
                "kind": "stream",
                "chars": 200,
                "error_type": "connection_dropped",
                "error_message": "peer closed connection",
            },
            {
                "number": 3,
                "kind": "resume",
                "chars": 80,
                "resume_from_char": 200,
                "error_type": "sse_error",
                "error_message": "SSE error event api_error",
            },
            {
                "number": 4,
                "kind": "resume",
                "chars": 120,
                "resume_from_char": 280,
                "error_type": "stalled",
                "error_message": "no byte for 60 s",
            },
            {
                "number": 5,
                "kind": "resume",
                "chars": 80,
                "resume_from_char": 400,
                "stop_reason": "end_turn",
            },
        ],
    )
    points = failure_points(duckdb, generation_id)
    assert [p.attempt for p in points] == [1, 2, 3, 4]
    assert points[0].http_status == 529
    assert points[1].answer_chars == len(TEXT)
    assert points[2].answer_chars == len(TEXT) - 200
    assert points[2].fraction == pytest.approx(80 / 280)

    spec = fault_spec_from_generation(duckdb, generation_id)
    assert spec[0] == {
        "type": "http_error",
        "status": 529,
        "on_requests": [1],
        "on_scope": "masterplan",
    }
    assert spec[1]["type"] == "reset" and spec[1]["on_requests"] == [2]
    # the cut lands after the same delta: >= 199.5 of 480 chars, < 200
    assert 199 < spec[1]["at_fraction"] * len(TEXT) <= 200
    assert spec[2]["type"] == "sse_error" and spec[2]["error_type"] == "api_error"
    assert spec[3]["type"] == "stall" and spec[3]["stall_ms"] >= 60_000
    assert [f["on_requests"] for f in spec] == [[1], [2], [3], [4]]
    from planner.sim import parse_fault_spec

    assert len(parse_fault_spec(json.dumps(spec)).faults) == 4

    timed = fault_spec_from_generation(duckdb, generation_id, position="time")
    assert "after_s" in timed[1] and "at_fraction" not in timed[1]


def test_requests_are_counted_per_stage_and_faults_aimed_at_one_stage(duckdb: Database) -> None:
    from planner.protocol import RunKey
    from planner.sim import parse_fault_spec

    generation_id = recorded_generation(
        duckdb,
        attempts=[
            {
                "number": 1,
                "kind": "stream",
                "chars": 40,
                "stage": "discovery",
                "error_type": "connection_dropped",
                "error_message": "dropped",
            },
            {
                "number": 2,
                "kind": "resume",
                "chars": 80,
                "resume_from_char": 40,
                "stage": "discovery",
                "stop_reason": "end_turn",
            },
            {
                "number": 3,
                "kind": "stream",
                "chars": 160,
                "error_type": "truncated",
                "error_message": "no message_stop",
            },
            {
                "number": 4,
                "kind": "resume",
                "chars": 200,
                "resume_from_char": 160,
                "stop_reason": "end_turn",
            },
        ],
    )
    spec = fault_spec_from_generation(duckdb, generation_id)
    assert [(f["type"], f["on_requests"], f["on_scope"]) for f in spec] == [
        ("reset", [1], "discovery"),
        ("eof", [1], "masterplan"),
    ]
    assert spec[0]["at_fraction"] == pytest.approx(39.5 / 120)
    parsed = parse_fault_spec(json.dumps(spec))
    discovery, masterplan = (
        RunKey(str(generation_id), "discovery"),
        RunKey(str(generation_id), "masterplan"),
    )
    assert [f.type for f in parsed.fire(0, discovery, 1)] == ["reset"]
    assert [f.type for f in parsed.fire(0, masterplan, 1)] == ["eof"]
    assert parsed.fire(0, masterplan, 2) == ()


def test_a_generation_without_network_failures_gives_a_clear_error(duckdb: Database) -> None:
    clean = recorded_generation(
        duckdb,
        attempts=[
            {"number": 1, "kind": "stream", "chars": 480, "stop_reason": "end_turn"},
        ],
    )
    with pytest.raises(FailureSpecError, match="no network failure"):
        fault_spec_from_generation(duckdb, clean)
    with pytest.raises(FailureSpecError, match="no generation"):
        fault_spec_from_generation(duckdb, uuid.uuid4())


def _runs(rows: list[tuple[str, str, int, str, str | None, float, int, int]]) -> pd.DataFrame:
    """(fault, strategy, seed, status, tier, model time, output, final)."""
    frame = pd.DataFrame(
        [
            {
                "run_id": uuid.uuid4(),
                "experiment_id": None,
                "generation_id": None,
                "fault_spec": fault,
                "strategy": strategy,
                "repeat_index": seed,
                "seed": seed,
                "status": status,
                "tier": tier,
                "attempts": 1,
                "duration_s": model + 1.0,
                "baseline_duration_s": 3.0,
                "model_time_s": model,
                "output_tokens": output,
                "final_tokens": final,
                "wasted_output_tokens": output - final,
                "error": None,
            }
            for fault, strategy, seed, status, tier, model, output, final in rows
        ]
    )
    return with_measures(frame)


def test_summary_measures_are_computed_over_completed_runs() -> None:
    runs = _runs(
        [
            ("drop-at-90", "resume", 1, "completed", "resume", 3.0, 110, 100),
            ("drop-at-90", "resume", 2, "completed", "resume", 4.0, 100, 100),
            ("drop-at-90", "none", 1, "failed", "failed", 9.0, 90, 0),
            ("drop-at-90", "none", 2, "failed", "failed", 9.0, 90, 0),
            ("none", "resume", 1, "completed", "stream", 2.0, 100, 100),
            ("none", "none", 1, "completed", "stream", 2.4, 100, 100),
            ("none", "resume", 2, "completed", "stream", 2.0, 100, 100),
            ("none", "none", 2, "failed", "failed", 1.0, 100, 100),
        ]
    )
    # a run's baseline is the clean run of its seed and strategy: a baseline cell is 1.00
    assert runs.loc[0, "baseline_model_time_s"] == pytest.approx(2.0)
    assert runs.loc[1, "baseline_model_time_s"] == pytest.approx(2.0)
    # without a completed clean run of its own strategy, the median of its seed's clean runs
    assert runs.loc[7, "baseline_model_time_s"] == pytest.approx(2.0)
    assert runs.loc[5, "baseline_model_time_s"] == pytest.approx(2.4)
    assert runs.loc[0, "wall_slowdown"] == pytest.approx(4.0 / 3.0)
    summary = summarize(runs)
    assert list(summary.fault) == ["drop-at-90", "drop-at-90", "none", "none"]
    resume = summary[(summary.strategy == "resume") & (summary.fault == "drop-at-90")].iloc[0]
    slowdowns = sorted([3.0 / 2.0, 4.0 / 2.0])
    assert resume.success_rate == 1.0
    assert resume.median_slowdown == pytest.approx(sum(slowdowns) / 2)
    assert resume.p95_slowdown == pytest.approx(slowdowns[0] + 0.95 * (slowdowns[1] - slowdowns[0]))
    assert resume.token_ratio == pytest.approx(210 / 200)
    assert resume.tiers == "resume 2"
    plain = summary[(summary.strategy == "none") & (summary.fault == "drop-at-90")].iloc[0]
    assert plain.success_rate == 0.0
    assert math.isnan(plain.median_slowdown) and math.isnan(plain.token_ratio)
    clean = summary[(summary.strategy == "none") & (summary.fault == "none")].iloc[0]
    assert clean.success_rate == 0.5 and clean.tiers == "failed 1, stream 1"
    baseline = summary[(summary.strategy == "resume") & (summary.fault == "none")].iloc[0]
    assert baseline.median_slowdown == 1.0 and clean.median_slowdown == 1.0  # exactly
    ranking = rank_strategies(runs)
    assert list(ranking.strategy) == ["resume", "none"]
    assert ranking.runs.tolist() == [2, 2]


# --- end to end: real generations against the embedded simulator -------------------------

SPEED = 400.0


def _local_user(db: Database) -> uuid.UUID:
    from planner.auth import get_or_create_local_user

    return get_or_create_local_user(db).id


def _texts(db: Database, generation_ids: list[uuid.UUID]) -> list[object]:
    """Each generation's stored plan (None without one)."""
    from planner.db import Generation, MasterPlanRow

    plans: list[object] = []
    with db.session() as session:
        for generation_id in generation_ids:
            generation = session.get(Generation, generation_id)
            plan = (
                session.get(MasterPlanRow, generation.masterplan_id)
                if (generation is not None and generation.masterplan_id)
                else None
            )
            plans.append(plan.plan_json if plan is not None else None)
    return plans


def _attempt_trace(
    db: Database, generation_id: uuid.UUID
) -> list[tuple[int, str, str, str | None]]:
    from planner.analysis import attempts_table

    table = attempts_table(db, generation_id)
    return [(int(r.number), r.stage, r.kind, r.error_type) for r in table.itertuples()]


def test_small_experiment_end_to_end_is_stored_and_reproducible(duckdb: Database) -> None:
    from planner.analysis.experiments import experiment_runs
    from planner.experiments import ExperimentConfig, run_experiment

    config = ExperimentConfig(
        faults=("drop-at-90", "flaky"),
        strategies=("none", "resume"),
        repeats=2,
        concurrency=2,
        speed=SPEED,
        seed=42,
    )
    progress: list[tuple[int, int]] = []
    first = run_experiment(
        duckdb, config, on_run=lambda o, done, total: progress.append((done, total))
    )
    second = run_experiment(duckdb, config)

    assert first.status == second.status == "completed"
    assert progress[-1] == (12, 12) and len(progress) == 12
    runs = experiment_runs(duckdb, first.experiment_id)
    assert len(runs) == 12  # (2 faults + the fault-free baseline) x 2 strategies x 2 repeats
    assert runs.generation_id.notna().all()
    assert sorted(set(runs.seed)) == sorted({derive_seed(42, 0), derive_seed(42, 1)})
    cells = runs.set_index(["fault", "strategy"])
    assert set(cells.loc[("drop-at-90", "none"), "status"]) == {"failed"}
    assert set(cells.loc[("drop-at-90", "resume"), "tier"]) == {"resume"}
    assert set(cells.loc[("none", "resume"), "tier"]) == {"stream"}
    flaky = runs[runs.fault == "flaky"]
    assert (flaky.attempts > 2).any(), "seed 42 makes flaky faults fire: the draws are tested"
    resumed = runs[(runs.fault == "drop-at-90") & (runs.strategy == "resume")]
    assert (resumed.slowdown > 0).all() and (resumed.token_ratio >= 1.0).all()
    assert resumed.baseline_model_time_s.notna().all()

    again = experiment_runs(duckdb, second.experiment_id)
    key = ["fault", "strategy", "repeat_index"]
    one, two = runs.sort_values(key), again.sort_values(key)
    columns = ["seed", "status", "tier", "attempts", "output_tokens", "final_tokens"]
    assert one[columns].values.tolist() == two[columns].values.tolist()
    assert _texts(duckdb, list(one.generation_id)) == _texts(duckdb, list(two.generation_id))
    assert [_attempt_trace(duckdb, g) for g in one.generation_id] == [
        _attempt_trace(duckdb, g) for g in two.generation_id
    ]
    assert [
        [(p.chars, p.error_type) for p in failure_points(duckdb, g)] for g in one.generation_id
    ] == [[(p.chars, p.error_type) for p in failure_points(duckdb, g)] for g in two.generation_id]
    assert sum(p is not None for p in _texts(duckdb, list(one.generation_id))) >= 6


def _first_failure(db: Database, generation_id: uuid.UUID):  # noqa: ANN202
    return failure_points(db, generation_id)[0]


def test_from_generation_replays_the_recorded_failure_against_other_strategies(
    duckdb: Database,
) -> None:
    from planner.analysis.experiments import experiment_runs
    from planner.experiments import ExperimentConfig, run_experiment
    from planner.plan import GenerationRequest, run_generation

    recorded = run_generation(
        duckdb,
        GenerationRequest(
            description="A clinic booking system: patients, doctors, rooms and reminders.",
            user_id=_local_user(duckdb),
            strategy="resume",
            faults="drop-twice",
            speed=SPEED,
            seed=9,
        ),
    )
    assert recorded.status == "completed" and recorded.tier == "resume"
    source_points = failure_points(duckdb, recorded.generation_id)
    assert len(source_points) == 4  # two drops in each stage

    result = run_experiment(
        duckdb,
        ExperimentConfig(
            faults=(),
            strategies=("resume", "restart"),
            repeats=1,
            speed=SPEED,
            from_generation_id=recorded.generation_id,
        ),
    )
    runs = experiment_runs(duckdb, result.experiment_id)
    replayed = runs[runs.fault != "none"].set_index("strategy")
    assert replayed.loc["resume", "seed"] == 9

    # resume again: the same attempts fail the same way at (about) the same place
    again = failure_points(duckdb, replayed.loc["resume", "generation_id"])
    assert [(p.attempt, p.stage, p.request_number, p.error_type) for p in again] == [
        (p.attempt, p.stage, p.request_number, p.error_type) for p in source_points
    ]
    for old, new in zip(source_points, again, strict=True):
        assert (old.resume_from_char, old.chars) == (new.resume_from_char, new.chars)
    assert replayed.loc["resume", "status"] == "completed"
    assert replayed.loc["resume", "tier"] == "resume"

    # restart meets the same first failure, then starts over instead of resuming
    restart_first = _first_failure(duckdb, replayed.loc["restart", "generation_id"])
    source_first = source_points[0]
    assert (restart_first.attempt, restart_first.stage, restart_first.error_type) == (
        source_first.attempt,
        source_first.stage,
        source_first.error_type,
    )
    assert restart_first.chars == source_first.chars
    restart_trace = _attempt_trace(duckdb, replayed.loc["restart", "generation_id"])
    assert restart_trace[1][2] == "stream"  # the retry starts from scratch


def test_cli_runs_an_experiment_and_refuses_bad_input(invoke) -> None:  # noqa: ANN001
    result = invoke(
        "experiment",
        "--faults",
        "drop-at-90",
        "--strategies",
        "resume",
        "--speed",
        "400",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "completed"
    cells = {(row["strategy"], row["fault"]): row for row in report["summary"]}
    assert cells[("resume", "drop-at-90")]["success_rate"] == 1.0
    assert cells[("resume", "drop-at-90")]["tiers"] == "resume 1"
    assert cells[("resume", "none")]["median_slowdown"] == pytest.approx(1.0)
    assert "experiment " in result.stderr
    # The oracle was added, unasked: each strategy's distance to the floor is in the summary.
    assert cells[("oracle", "drop-at-90")]["success_rate"] == 1.0
    assert cells[("resume", "drop-at-90")]["oracle_pairs"] == 1
    assert cells[("resume", "drop-at-90")]["oracle_time_ratio"] > 0

    table = invoke("experiment", "--faults", "eof", "--strategies", "none,resume", "--speed", "400")
    assert table.exit_code == 0, table.stderr
    assert "none (baseline)" in table.stdout and "eof" in table.stdout
    alone = invoke(
        "experiment",
        "--faults",
        "eof",
        "--strategies",
        "resume",
        "--speed",
        "400",
        "--no-oracle",
        "--json",
    )
    assert alone.exit_code == 0, alone.stderr
    strategies = {row["strategy"] for row in json.loads(alone.stdout)["summary"]}
    assert strategies == {"resume"}, "--no-oracle leaves it out"

    for args, message in [
        (["--faults", "nope", "--strategies", "resume"], "unknown fault profile 'nope'"),
        (["--strategies", "resume", "--from-generation", str(uuid.uuid4())], "no generation"),
    ]:
        bad = invoke("experiment", *args)
        assert bad.exit_code == 2, (args, bad.stderr)  # bad input
        assert message in bad.stderr and bad.stderr.startswith("planner: experiment: ")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"strategies": ("bogus",)}, "unknown strategy or contender 'bogus'; choose from none"),
        ({"strategies": ()}, "give at least one strategy"),
        ({"faults": ("nope",)}, "unknown fault profile 'nope'"),
        ({"faults": ('[{"type": "reset", "at_fraction": 2}]',)}, "at_fraction must be between"),
        ({"faults": ()}, "give at least one fault"),
        ({"faults": ("eof", "eof")}, "fault given twice: eof"),
        ({"strategies": ("resume", "resume")}, "strategy given twice: resume"),
        ({"repeats": 0}, "--repeats must be at least 1"),
        ({"concurrency": 0}, "--concurrency must be at least 1"),
        ({"speed": 0.0}, "--speed must be greater than 0"),
        ({"seed": -1}, "--seed must be between 0 and"),
        ({"description": "  "}, "the description must not be empty"),
        ({"baseline_strategies": ("sdk",)}, "baseline strategies not among the strategies"),
    ],
)
def test_bad_experiments_are_refused_with_a_clear_message(
    duckdb: Database, changes: dict[str, object], message: str
) -> None:
    from dataclasses import replace

    from planner.experiments import ExperimentConfig, ExperimentError

    config = replace(ExperimentConfig(faults=("eof",), strategies=("resume",)), **changes)
    with pytest.raises(ExperimentError, match=re.escape(message)):
        config.validated(duckdb)


@pytest.mark.postgres
def test_experiment_and_its_summary_on_postgresql(postgres: Database) -> None:
    from planner.analysis.experiments import experiment_summary, list_experiments
    from planner.experiments import ExperimentConfig, run_experiment

    result = run_experiment(
        postgres, ExperimentConfig(faults=("eof",), strategies=("resume",), speed=SPEED, seed=3)
    )
    summary = experiment_summary(postgres, result.experiment_id).set_index("fault")
    assert summary.loc["eof", "success_rate"] == 1.0
    assert summary.loc["eof", "tiers"] == "resume 1"
    assert summary.loc["eof", "median_slowdown"] > 0
    assert summary.loc["none", "median_slowdown"] == pytest.approx(1.0)
    listed = list_experiments(postgres)
    assert listed.experiment_id.tolist() == [result.experiment_id]
    assert listed.status.tolist() == ["completed"]


def test_a_stopped_experiment_keeps_finished_runs_and_cancels_the_rest(duckdb: Database) -> None:
    import threading

    from planner.analysis.experiments import experiment_runs
    from planner.experiments import ExperimentConfig, run_experiment

    stop = threading.Event()
    result = run_experiment(
        duckdb,
        ExperimentConfig(faults=("eof",), strategies=("resume", "restart"), speed=SPEED),
        on_run=lambda outcome, done, total: stop.set(),
        stop=stop,
    )
    assert result.status == "interrupted"
    runs = experiment_runs(duckdb, result.experiment_id)
    assert sorted(runs.status) == ["cancelled", "cancelled", "cancelled", "completed"]
    assert runs[runs.status == "cancelled"].generation_id.isna().all()
