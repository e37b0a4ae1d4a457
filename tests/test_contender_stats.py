"""Contenders in the fallback statistics (issue 18): rated beside the strategies, by one rule.

A real experiment runs planner's `resume`, the bare SDK and the oracle against the embedded
simulator under `eof` (the first stream of each stage ends cleanly at 70% without
`message_stop`): the SDK hands the cut text back as complete, which the judge counts as a
failure, and the oracle continues it. `fault_success_rates`, `planner stats` and the
statistics page must show the contender rows with the same digits.
"""

from __future__ import annotations

import uuid

from planner import analysis, auth
from planner.db import Database, ExperimentRun
from planner.experiments import ExperimentConfig, run_experiment

DESCRIPTION = "A todo list: tasks, due dates and reminders."


def _experiment(db: Database, user_id: uuid.UUID) -> uuid.UUID:
    config = ExperimentConfig(
        faults=("eof",),
        strategies=("resume", "sdk", "oracle"),
        speed=1000.0,
        description=DESCRIPTION,
    )
    result = run_experiment(db, config, user_id=user_id)
    assert result.status == "completed"
    return result.experiment_id


def test_a_contender_run_is_counted_apart_or_left_out_as_a_generation_would_be(
    db: Database,
) -> None:
    """A run that could not run, a cancelled one, one refused as a wrong request, and one
    not judged yet (its library's word is not believed) never count in n."""
    local = auth.get_or_create_local_user(db)
    _experiment(db, local.id)

    def rewrite(session) -> None:  # noqa: ANN001
        runs = {(r.strategy, r.fault): r for r in session.query(ExperimentRun)}
        runs[("sdk", "none")].status = "error"
        runs[("sdk", "eof")].error = "masterplan: anthropic.NotFoundError: model: nope"
        runs[("oracle", "none")].status = "cancelled"
        runs[("oracle", "eof")].outcome = None

    db.in_session(rewrite)
    rates = analysis.fault_success_rates(db, local.id)
    contenders = rates[rates["kind"] == "contender"].set_index(["strategy", "fault_spec"])
    apart = contenders[["n", "cancelled", "interrupted", "configuration"]]
    assert apart.to_dict("index") == {
        ("oracle", "none"): {"n": 0, "cancelled": 1, "interrupted": 0, "configuration": 0},
        ("sdk", "eof"): {"n": 0, "cancelled": 0, "interrupted": 0, "configuration": 1},
        ("sdk", "none"): {"n": 0, "cancelled": 0, "interrupted": 0, "configuration": 1},
    }
