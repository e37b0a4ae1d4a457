"""Failure-mode experiments: the runner, its summary, and faults derived from a recording."""

from __future__ import annotations

import json
import math
import uuid

import pandas as pd
import pytest

from planner.analysis.experiments import rank_strategies, summarize, with_measures
from planner.experiments import derive_seed, split_faults
from planner.failures import FailureSpecError, failure_points, fault_spec_from_generation
from tests.recorded_rows import TEXT, insert_generation, migrate


def test_split_faults_keeps_json_specs_whole() -> None:
    spec = '[{"type": "reset", "on_requests": [1, 2], "at_fraction": 0.5}]'
    assert split_faults(f"none, drop-at-90,{spec}") == ["none", "drop-at-90", spec]
    assert split_faults('[{"type": "sse_error", "error_type": "a,b"}],eof') == [
        '[{"type": "sse_error", "error_type": "a,b"}]', "eof",
    ]
    assert split_faults(" , ") == []


def test_derived_seeds_are_stable_and_distinct() -> None:
    seeds = [derive_seed(7, r) for r in range(50)]
    assert seeds == [derive_seed(7, r) for r in range(50)]
    assert len(set(seeds)) == 50
    assert all(0 <= s < 2**31 for s in seeds)
    assert derive_seed(8, 0) != derive_seed(7, 0)


def test_failure_points_and_fault_spec_from_recorded_attempts() -> None:
    migrate()
    generation_id = insert_generation(attempts=[
        {"number": 1, "kind": "stream", "chars": 0, "error_type": "overloaded",
         "error_message": "the API is overloaded (529 overloaded_error): busy"},
        {"number": 2, "kind": "stream", "chars": 200, "error_type": "connection_dropped",
         "error_message": "peer closed connection"},
        {"number": 3, "kind": "resume", "chars": 80, "resume_from_char": 200,
         "error_type": "sse_error", "error_message": "SSE error event api_error"},
        {"number": 4, "kind": "resume", "chars": 120, "resume_from_char": 280,
         "error_type": "stalled", "error_message": "no byte for 60 s"},
        {"number": 5, "kind": "resume", "chars": 80, "resume_from_char": 400,
         "stop_reason": "end_turn"},
    ])
    points = failure_points(generation_id)
    assert [p.attempt for p in points] == [1, 2, 3, 4]
    assert points[0].http_status == 529
    assert points[1].answer_chars == len(TEXT)
    assert points[2].answer_chars == len(TEXT) - 200
    assert points[2].fraction == pytest.approx(80 / 280)

    spec = fault_spec_from_generation(generation_id)
    assert spec[0] == {
        "type": "http_error", "status": 529, "on_requests": [1], "on_scope": "masterplan"
    }
    assert spec[1]["type"] == "reset" and spec[1]["on_requests"] == [2]
    # the cut lands after the same delta: >= 199.5 of 480 chars, < 200
    assert 199 < spec[1]["at_fraction"] * len(TEXT) <= 200
    assert spec[2]["type"] == "sse_error" and spec[2]["error_type"] == "api_error"
    assert spec[3]["type"] == "stall" and spec[3]["stall_ms"] >= 60_000
    assert [f["on_requests"] for f in spec] == [[1], [2], [3], [4]]
    from planner.sim import parse_fault_spec

    assert len(parse_fault_spec(json.dumps(spec)).faults) == 4

    timed = fault_spec_from_generation(generation_id, position="time")
    assert "after_s" in timed[1] and "at_fraction" not in timed[1]


def test_requests_are_counted_per_stage_and_faults_aimed_at_one_stage() -> None:
    from planner.sim import parse_fault_spec

    migrate()
    generation_id = insert_generation(attempts=[
        {"number": 1, "kind": "stream", "chars": 40, "stage": "discovery",
         "error_type": "connection_dropped", "error_message": "dropped"},
        {"number": 2, "kind": "resume", "chars": 80, "resume_from_char": 40,
         "stage": "discovery", "stop_reason": "end_turn"},
        {"number": 3, "kind": "stream", "chars": 160, "error_type": "truncated",
         "error_message": "no message_stop"},
        {"number": 4, "kind": "resume", "chars": 200, "resume_from_char": 160,
         "stop_reason": "end_turn"},
    ])
    spec = fault_spec_from_generation(generation_id)
    assert [(f["type"], f["on_requests"], f["on_scope"]) for f in spec] == [
        ("reset", [1], "discovery"), ("eof", [1], "masterplan"),
    ]
    assert spec[0]["at_fraction"] == pytest.approx(39.5 / 120)
    parsed = parse_fault_spec(json.dumps(spec))
    assert [f.type for f in parsed.fire(0, f"{generation_id}:discovery", 1)] == ["reset"]
    assert [f.type for f in parsed.fire(0, f"{generation_id}:masterplan", 1)] == ["eof"]
    assert parsed.fire(0, f"{generation_id}:masterplan", 2) == ()


def test_a_generation_without_network_failures_gives_a_clear_error() -> None:
    migrate()
    clean = insert_generation(attempts=[
        {"number": 1, "kind": "stream", "chars": 480, "stop_reason": "end_turn"},
    ])
    with pytest.raises(FailureSpecError, match="no network failure"):
        fault_spec_from_generation(clean)
    with pytest.raises(FailureSpecError, match="no generation"):
        fault_spec_from_generation(uuid.uuid4())


def _runs(rows: list[tuple[str, str, int, str, str | None, float, int, int]]) -> pd.DataFrame:
    """(fault, strategy, seed, status, tier, model time, output, final)."""
    frame = pd.DataFrame([
        {"run_id": uuid.uuid4(), "experiment_id": None, "generation_id": None,
         "fault_spec": fault, "strategy": strategy, "repeat_index": seed, "seed": seed,
         "status": status, "tier": tier, "attempts": 1, "duration_s": model + 1.0,
         "baseline_duration_s": 3.0, "model_time_s": model, "output_tokens": output,
         "final_tokens": final, "wasted_output_tokens": output - final, "error": None}
        for fault, strategy, seed, status, tier, model, output, final in rows
    ])
    return with_measures(frame)


def test_summary_measures_are_computed_over_completed_runs() -> None:
    runs = _runs([
        ("drop-at-90", "resume", 1, "completed", "resume", 3.0, 110, 100),
        ("drop-at-90", "resume", 2, "completed", "resume", 4.0, 100, 100),
        ("drop-at-90", "none", 1, "failed", "failed", 9.0, 90, 0),
        ("drop-at-90", "none", 2, "failed", "failed", 9.0, 90, 0),
        ("none", "resume", 1, "completed", "stream", 2.0, 100, 100),
        ("none", "none", 1, "completed", "stream", 2.4, 100, 100),
        ("none", "resume", 2, "completed", "stream", 2.0, 100, 100),
        ("none", "none", 2, "failed", "failed", 1.0, 100, 100),
    ])
    # seed 1's baseline is the median of both clean runs; seed 2's only the completed one
    assert runs.loc[0, "baseline_model_time_s"] == pytest.approx(2.2)
    assert runs.loc[1, "baseline_model_time_s"] == pytest.approx(2.0)
    assert runs.loc[0, "wall_slowdown"] == pytest.approx(4.0 / 3.0)
    summary = summarize(runs)
    assert list(summary.fault) == ["drop-at-90", "drop-at-90", "none", "none"]
    resume = summary[(summary.strategy == "resume") & (summary.fault == "drop-at-90")].iloc[0]
    slowdowns = sorted([3.0 / 2.2, 4.0 / 2.0])
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
    ranking = rank_strategies(runs)
    assert list(ranking.strategy) == ["resume", "none"]
    assert ranking.runs.tolist() == [2, 2]
