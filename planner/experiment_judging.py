"""Every experiment run judged by one rule, strategies and contenders alike.

A run succeeds when its final text equals the fault-free answer of its seed
(`planner.contenders.judge`): a client is not believed on its word, so a text returned as
complete that is only the start of the answer is *silently truncated*, a failure reported
as such. The fault-free answer of a seed, per stage, is the text most of the experiment's
fault-free runs of that seed ended with (they all should: the simulator answers from the
seed and the stage). A strategy's generation keeps its MasterPlan text in its row
(`generations.checkpoint_text`); a contender's run keeps each stage's text in `answers`.
Discovery texts come from contender runs only (a generation keeps its discovery parsed), so
a contender's discovery is judged when there is one to judge it against, and its MasterPlan
always.

`judge_runs` sets `outcome` on every finished run it can judge, and a run that is not
complete becomes `failed` with the reason in `error`; a generation that failed keeps its own
error. It also fills a contender run's `final_tokens` with the seed's fault-free tokens (a
library reports what it generated, not which of it is the answer).
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Protocol

from planner.contenders import Outcome, judge

BASELINE_FAULT = "none"
STAGES = ("discovery", "masterplan")
FINISHED = frozenset({"completed", "failed"})


class JudgedRun(Protocol):
    """The `ExperimentRun` columns the judge reads and writes."""

    generation_id: uuid.UUID | None
    fault: str
    seed: int
    status: str
    outcome: str | None
    error: str | None
    config: dict | None
    answers: dict | None
    output_tokens: int
    final_tokens: int


def is_contender(run: JudgedRun) -> bool:
    return bool(run.config) and run.config.get("kind") == "contender"


def _texts(run: JudgedRun, generation_texts: Mapping[uuid.UUID, str | None]) -> dict[str, str]:
    if is_contender(run):
        return dict(run.answers or {})
    text = generation_texts.get(run.generation_id) if run.generation_id else None
    return {} if text is None else {"masterplan": text}


def fault_free_answers(
    runs: Sequence[JudgedRun], generation_texts: Mapping[uuid.UUID, str | None]
) -> dict[tuple[int, str], str]:
    """(seed, stage) -> the text most fault-free runs that did not fail ended with."""
    votes: dict[tuple[int, str], Counter[str]] = {}
    for run in runs:
        if run.fault != BASELINE_FAULT or run.status != "completed":
            continue
        for stage, text in _texts(run, generation_texts).items():
            votes.setdefault((run.seed, stage), Counter())[text] += 1
    return {key: counter.most_common(1)[0][0] for key, counter in votes.items()}


def _verdict(
    run: JudgedRun, texts: Mapping[str, str], expected: Mapping[tuple[int, str], str]
) -> tuple[Outcome | None, str | None]:
    if run.status != "completed":
        return Outcome.FAILED_RAISED, None
    if (run.seed, "masterplan") not in expected:
        return None, "no fault-free answer of this seed to judge it against"
    # A generation keeps its MasterPlan text only; the MasterPlan is built from the
    # discovery, so a wrong discovery shows in it.
    for stage in STAGES if is_contender(run) else ("masterplan",):
        want = expected.get((run.seed, stage))
        if want is None:
            continue
        if stage not in texts:
            return Outcome.CORRUPTED, f"{stage}: no answer"
        outcome = judge(texts[stage], want, claimed_success=True)
        if not outcome.success:
            got = len(texts[stage])
            if outcome is Outcome.SILENTLY_TRUNCATED:
                detail = f"returned {got:,} of the fault-free answer's {len(want):,} characters"
            else:
                detail = f"{got:,} characters that differ from the fault-free {len(want):,}"
            return outcome, f"{stage}: {outcome.label}: {detail} as complete"
    return Outcome.COMPLETE, None


def judge_runs(runs: Sequence[JudgedRun], generation_texts: Mapping[uuid.UUID, str | None]) -> None:
    """Judge every finished, unjudged run in place (`generation_texts`: generation id -> its
    MasterPlan text)."""
    expected = fault_free_answers(runs, generation_texts)
    final_tokens = _fault_free_tokens(runs)
    for run in runs:
        if run.outcome is not None or run.status not in FINISHED:
            continue
        outcome, reason = _verdict(run, _texts(run, generation_texts), expected)
        if outcome is None:
            run.error = run.error or reason
            continue
        run.outcome = outcome.value
        if is_contender(run):
            run.final_tokens = final_tokens.get(run.seed, 0)
        if not outcome.success:
            run.status = "failed"
            if reason is not None:
                run.error = f"{reason} ({run.error})" if run.error else reason


def _fault_free_tokens(runs: Sequence[JudgedRun]) -> dict[int, int]:
    """Per seed: the answer's tokens, from the fault-free generations (output minus wasted),
    else from the fault-free contender runs."""
    by_seed: dict[int, tuple[list[int], list[int]]] = {}
    for run in runs:
        if run.fault != BASELINE_FAULT or run.status != "completed":
            continue
        generations, contenders = by_seed.setdefault(run.seed, ([], []))
        if is_contender(run):
            contenders.append(run.output_tokens)
        elif run.final_tokens:
            generations.append(run.final_tokens)
    return {
        seed: int(statistics.median(generations or contenders))
        for seed, (generations, contenders) in by_seed.items()
        if generations or contenders
    }


__all__ = ["fault_free_answers", "is_contender", "judge_runs"]
