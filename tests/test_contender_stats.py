"""Contenders in the fallback statistics (issue 18): rated beside the strategies, by one rule.

A real experiment runs planner's `resume`, the bare SDK and the oracle against the embedded
simulator under `eof` (the first stream of each stage ends cleanly at 70% without
`message_stop`): the SDK hands the cut text back as complete, which the judge counts as a
failure, and the oracle continues it. `fault_success_rates`, `planner stats` and the
statistics page must show the contender rows with the same digits.
"""

from __future__ import annotations

import io
import uuid

import pandas as pd
import pytest
from contender_helpers import DROP_AT_90, NO_PREFILL_MODEL, endpoint, request_for

from planner import analysis, auth
from planner.analysis.stats import StatsFilter, format_rate, rate_label
from planner.contenders import describe, get_contender
from planner.dashboard import charts
from planner.db import Database, ExperimentRun
from planner.experiments import ExperimentConfig, run_experiment
from planner.plan.model import PLANNING_MODEL
from planner.protocol import REQUEST_REFUSED_STATUSES
from planner.sim import Simulator
from tests.dashboard_helpers import statistics_page

DESCRIPTION = "A todo list: tasks, due dates and reminders."


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


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


def _cells(rates: pd.DataFrame) -> dict[tuple[str, str, str], tuple[int, int, int, bool]]:
    return {
        (r.kind, r.strategy, r.fault_spec): (r.n, r.successes, r.fired, r.never_fired)
        for r in rates.itertuples()
    }


def test_contender_runs_are_rated_beside_strategies_in_library_cli_and_page(
    home_db: Database,
    invoke,  # noqa: ANN001
) -> None:
    alice = auth.create_user(home_db, "alice", "correct horse battery")
    experiment_id = _experiment(home_db, alice.id)
    rates = analysis.fault_success_rates(home_db, alice.id)
    assert _cells(rates) == {
        ("strategy", "resume", "eof"): (1, 1, 1, False),
        ("strategy", "resume", "none"): (1, 1, 0, False),
        ("contender", "oracle", "eof"): (1, 1, 1, False),  # it reconnected: more requests
        ("contender", "oracle", "none"): (1, 1, 0, False),
        ("contender", "sdk", "eof"): (1, 0, 1, False),  # silently truncated: a failure
        ("contender", "sdk", "none"): (1, 1, 0, False),
    }
    assert rates["kind"].tolist()[:2] == ["strategy", "strategy"]  # strategies first
    expected = [format_rate(row) for row in rates.itertuples()]
    assert expected[4] == "0% (0/1, 95% CI 0–79%)"

    printed = invoke("stats", "--user", "alice")
    assert printed.exit_code == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert [next(e for e in expected if e in line) for line in lines] == expected
    assert lines[4].startswith("sdk (contender) ") and lines[0].startswith("resume ")
    printed_json = invoke("stats", "--user", "alice", "--json").stdout
    as_json = pd.read_json(io.StringIO(printed_json), lines=True)
    assert as_json[["kind", "strategy", "n", "successes"]].values.tolist() == (
        rates[["kind", "strategy", "n", "successes"]].values.tolist()
    )

    at, shown = statistics_page(alice)
    assert shown["rate"].tolist() == expected
    assert shown["strategy"].tolist() == [rate_label(row) for row in rates.itertuples()]
    assert "oracle (contender)" in shown["strategy"].tolist()
    heatmap = next(iter(charts.success_heatmap(rates).to_dict()["datasets"].values()))
    assert [cell["strategy"] for cell in heatmap] == shown["strategy"].tolist()
    assert [cell["label"] for cell in heatmap][4] == "0% n=1"

    only = StatsFilter(experiment_id=experiment_id)
    assert len(analysis.fault_success_rates(home_db, alice.id, only)) == 6
    assert analysis.fault_success_rates(home_db, alice.id, StatsFilter(speeds=(9.0,))).empty
    other_model = analysis.fault_success_rates(home_db, alice.id, StatsFilter(models=("x",)))
    assert other_model.empty  # a contender's model is read from its stored configuration


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
        # the status its library's error carried is what counts, not the error's wording
        runs[("sdk", "eof")].http_status = 404
        runs[("sdk", "eof")].error = "masterplan: failed_raised: the library raised (…)"
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


def test_a_strategys_generation_is_judged_by_its_text_as_a_contender_run_is(
    db: Database,
) -> None:
    """A generation that completed but whose plan text the experiment's judge found wrong
    fails in the rates, as a contender's silently truncated text does."""
    local = auth.get_or_create_local_user(db)
    _experiment(db, local.id)

    def strategy_cells() -> dict[tuple[str, str], tuple[int, int]]:
        rates = analysis.fault_success_rates(db, local.id)
        mine = rates[rates["kind"] == "strategy"]
        return {(r.strategy, r.fault_spec): (r.n, r.successes) for r in mine.itertuples()}

    assert strategy_cells() == {("resume", "eof"): (1, 1), ("resume", "none"): (1, 1)}

    def judged_corrupted(session) -> None:  # noqa: ANN001
        run = next(
            r for r in session.query(ExperimentRun) if (r.strategy, r.fault) == ("resume", "eof")
        )
        run.outcome = "corrupted"

    db.in_session(judged_corrupted)
    assert strategy_cells() == {("resume", "eof"): (1, 0), ("resume", "none"): (1, 1)}


@pytest.mark.parametrize("name", sorted(describe()))
def test_every_contender_keeps_the_status_of_a_request_the_api_refused(sim, name: str) -> None:
    """A made-up model gets the API's 404 from the simulator; each library's error carries
    it (or wraps one that does), and the run keeps it as data for the statistics."""
    result = get_contender(name).run(request_for("claude-made-up-9"), endpoint(sim.base_url))
    assert not result.claimed_success
    assert result.http_status == 404, (result.error_type, result.error_message)
    assert result.http_status in REQUEST_REFUSED_STATUSES


def test_a_transport_error_has_no_status(sim) -> None:
    result = get_contender("sdk").run(
        request_for(NO_PREFILL_MODEL), endpoint(sim.base_url, DROP_AT_90)
    )
    assert result.error_type == "httpx2.RemoteProtocolError"
    assert result.http_status is None
