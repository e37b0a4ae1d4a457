"""Contenders in `planner experiment`: named beside the strategies, stored and judged alike."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow.parquet as pq
import pytest

from planner.contenders import RUN_CHOICES, Outcome
from planner.db import Database
from planner.experiment_judging import judge_runs

SPEED = "400"
DESCRIPTION = "A todo list: tasks, due dates and reminders."


def test_help_lists_every_strategy_and_contender_with_its_line(invoke) -> None:  # noqa: ANN001
    result = invoke("experiment", "--help")
    assert result.exit_code == 0
    for choice in RUN_CHOICES.values():
        line = next(
            line for line in result.stdout.splitlines() if line.split()[:1] == [choice.name]
        )
        assert choice.description in line
    assert "pip install 'planner[contenders]'" in result.stdout


def test_a_contender_whose_library_is_missing_is_one_line_naming_the_extra(
    invoke,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_anthropic", None)  # as if not installed
    result = invoke("experiment", "--faults", "eof", "--strategies", "resume,langchain")
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert "langchain-anthropic" in result.stderr
    assert "pip install 'planner[contenders]'" in result.stderr


def test_an_unknown_name_lists_strategies_and_contenders(invoke) -> None:  # noqa: ANN001
    result = invoke("experiment", "--faults", "eof", "--strategies", "resume,tenacity")
    assert result.exit_code == 2
    assert "unknown strategy or contender 'tenacity'" in result.stderr
    assert "resume" in result.stderr and "sdk-tenacity" in result.stderr


def test_contenders_run_beside_strategies_and_are_judged_by_the_final_text(
    invoke,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    """`eof` ends the first stream of each stage cleanly at 70% without message_stop: the
    bare SDK returns the cut text as complete (silently truncated), planner's resume and
    the oracle continue it to the fault-free answer."""
    from planner.analysis.experiments import experiment_runs
    from planner.config import get_settings

    result = invoke(
        "experiment",
        "--faults",
        "eof",
        "--strategies",
        "resume,sdk,oracle",
        "--speed",
        SPEED,
        "--description",
        DESCRIPTION,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    cells = {(row["strategy"], row["fault"]): row for row in report["summary"]}
    assert cells[("resume", "eof")]["success_rate"] == 1.0
    assert cells[("oracle", "eof")]["success_rate"] == 1.0
    assert cells[("sdk", "eof")]["success_rate"] == 0.0
    assert cells[("sdk", "eof")]["outcomes"] == "silently truncated 1"
    assert cells[("sdk", "none")]["success_rate"] == 1.0
    assert cells[("sdk", "eof")]["success_high"] < 1.0  # 0/1: Wilson, not a flat 0
    resume_cell = cells[("resume", "eof")]
    assert resume_cell["oracle_pairs"] == 1 and resume_cell["oracle_time_ratio"] > 0
    assert resume_cell["oracle_time_low"] is None  # no 95% interval from one pair
    assert cells[("oracle", "eof")]["oracle_tokens_ratio"] == 1.0
    assert cells[("sdk", "eof")]["oracle_pairs"] == 0  # nothing complete to compare

    db = Database.from_settings(get_settings())
    try:
        runs = experiment_runs(db, report["experiment_id"]).set_index(["strategy", "fault"])
    finally:
        db.close()
    sdk = runs.loc[("sdk", "eof")]
    assert sdk.status == "failed" and sdk.outcome == Outcome.SILENTLY_TRUNCATED
    assert "silently truncated" in sdk.error and sdk.kind == "contender"
    assert sdk.config["max_retries"] == 2 and sdk.config["model"] == get_settings().model
    assert set(sdk.versions) == {"anthropic"} and sdk.versions["anthropic"][0].isdigit()
    oracle = runs.loc[("oracle", "eof")]
    assert oracle.outcome == Outcome.COMPLETE and oracle.generation_id is None
    assert oracle.final_tokens == runs.loc[("resume", "none")].final_tokens
    assert 1.0 <= oracle.token_ratio < 1.02 and oracle.slowdown > 0
    resume = runs.loc[("resume", "eof")]
    assert resume.outcome == Outcome.COMPLETE and resume.kind == "strategy"
    assert resume.config["strategy"] == "resume" and "planner" in resume.versions

    exported = invoke("export", str(tmp_path / "export"))
    assert exported.exit_code == 0, exported.stderr
    table = pq.read_table(tmp_path / "export" / "experiment_runs.parquet").to_pandas()
    row = table[(table.strategy == "sdk") & (table.fault == "eof")].iloc[0]
    assert row.outcome == "silently_truncated" and pd.isna(row.generation_id)
    assert json.loads(row.config)["max_retries"] == 2
    assert json.loads(row.versions) == sdk.versions
    answers = json.loads(row.answers)  # it stopped at the discovery it could not parse
    assert answers["discovery"] and "masterplan" not in answers


def test_summaries_show_each_strategys_distance_to_the_oracle_with_an_interval() -> None:
    import pandas as pd

    from planner.analysis.experiments import summarize, with_measures
    from planner.experiment_report import summary_table

    rows = []
    for seed in range(6):
        for strategy, kind, seconds, tokens in (
            ("oracle", "contender", 1.0, 100),
            ("resume", "strategy", 1.1 + seed / 100, 100 + seed),
        ):
            rows.append(
                {
                    "run_id": uuid.uuid4(),
                    "experiment_id": None,
                    "generation_id": None if kind == "contender" else uuid.uuid4(),
                    "fault_spec": "drop-at-90",
                    "strategy": strategy,
                    "repeat_index": 0,
                    "seed": seed,
                    "status": "completed",
                    "tier": None if kind == "contender" else "resume",
                    "attempts": 2,
                    "duration_s": seconds,
                    "baseline_duration_s": 1.0,
                    "model_time_s": seconds,
                    "output_tokens": tokens,
                    "final_tokens": 100,
                    "wasted_output_tokens": 0,
                    "error": None,
                    "outcome": "complete",
                    "config": {"kind": kind},
                }
            )
    summary = summarize(with_measures(pd.DataFrame(rows))).set_index("strategy")
    resume = summary.loc["resume"]
    assert resume.oracle_pairs == 6
    assert resume.oracle_time_ratio == pytest.approx(1.125)
    assert (resume.oracle_time_low, resume.oracle_time_high) == pytest.approx((1.10, 1.15))
    assert resume.oracle_tokens_ratio == pytest.approx(1.025)
    assert summary.loc["oracle"].oracle_time_ratio == 1.0
    assert summary.loc["oracle"].tiers == ""

    from rich.console import Console

    console = Console(width=220, record=True)
    console.print(summary_table(summary.reset_index()))
    text = console.export_text()
    assert "1.125 [1.100-1.150]" in text and "vs oracle time" in text

    from planner.analysis.contenders import comparison_table

    rows.append(
        {
            **rows[-1],
            "run_id": uuid.uuid4(),
            "seed": 6,
            "status": "failed",
            "outcome": "failed_raised",
            "error": "masterplan: httpx2.ReadError: gone",
        }
    )
    table = comparison_table(with_measures(pd.DataFrame(rows))).set_index("strategy")
    resume = table.loc["resume"]
    assert (resume.runs, resume.completed, resume.oracle_pairs) == (7, 6, 6)
    assert resume.tokens_median == pytest.approx(1.025)
    assert (resume.tokens_low, resume.tokens_high) == pytest.approx((1.0, 1.05))
    assert resume.note == "raises httpx2.ReadError 1/7" and resume.requests == 2


def _run(fault: str, status: str, texts: dict[str, str], kind: str = "contender") -> object:
    return SimpleNamespace(
        generation_id=None if kind == "contender" else uuid.uuid4(),
        fault=fault,
        seed=1,
        status=status,
        outcome=None,
        error=None,
        config={"kind": kind},
        answers=texts if kind == "contender" else None,
        output_tokens=10,
        final_tokens=0 if kind == "contender" else 9,
    )


def test_the_judge_reads_each_run_against_the_fault_free_answer_of_its_seed() -> None:
    answer = {"discovery": '{"domain": "todo"}', "masterplan": '{"plan": "whole"}'}
    baseline = _run("none", "completed", dict(answer))
    generation = _run("none", "completed", {}, kind="strategy")
    truncated = _run("eof", "completed", {"discovery": answer["discovery"][:9]})
    raised = _run("drop", "failed", {"discovery": answer["discovery"][:5]})
    doubled = _run("drop", "completed", {**answer, "masterplan": answer["masterplan"] + 'le"}'})
    cut_generation = _run("eof", "completed", {}, kind="strategy")
    runs = [baseline, generation, truncated, raised, doubled, cut_generation]
    texts = {generation.generation_id: answer["masterplan"]}
    judge_runs(runs, {**texts, cut_generation.generation_id: '{"plan": "wh'})

    assert (baseline.outcome, baseline.status, baseline.final_tokens) == (
        "complete",
        "completed",
        9,
    )
    assert generation.outcome == "complete"
    assert truncated.outcome == "silently_truncated" and truncated.status == "failed"
    assert truncated.error.startswith("discovery: silently truncated: returned 9 of the")
    assert raised.outcome == "failed_raised"
    assert doubled.outcome == "duplicated" and doubled.error.startswith("masterplan: duplicated")
    assert cut_generation.outcome == "silently_truncated" and cut_generation.status == "failed"


def test_without_a_fault_free_answer_a_run_is_not_judged() -> None:
    lonely = _run("eof", "completed", {"masterplan": "x"})
    judge_runs([lonely], {})
    assert lonely.outcome is None and "no fault-free answer" in lonely.error
