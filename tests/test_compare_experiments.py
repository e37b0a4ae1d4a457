"""Compare two experiments (issue 16): every strategy × fault cell of either, side by side,
with each experiment's own summary figures, in the library and on the Compare page.

Two real experiments run against the embedded simulator: A tries `none` and `resume`
under `drop-at-90`, B `resume`, `restart` and the bare SDK (a contender, issue 18: shown
like any run), with the same seeds. What the comparison
shows of a cell must be what each experiment's summary says of it (the experiments page
and `planner experiment` print that summary), a cell only one experiment ran says so, and
two success rates differ only when their 95% intervals do not overlap.
"""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from planner import analysis, auth
from planner.analysis.compare import intervals_apart
from planner.analysis.experiments import format_success
from planner.contenders.stats import wilson_interval
from planner.dashboard.session import TOKEN_KEY
from planner.db import Database, ExperimentRun
from planner.experiments import ExperimentConfig, run_experiment

DESCRIPTION = "A todo list: tasks, due dates and reminders."


def _experiment(db: Database, user_id: uuid.UUID, strategies: tuple[str, ...]) -> uuid.UUID:
    config = ExperimentConfig(
        faults=("drop-at-90",),
        strategies=strategies,
        repeats=2,
        speed=1000.0,
        description=DESCRIPTION,
    )
    result = run_experiment(db, config, user_id=user_id)
    assert result.status == "completed"
    return result.experiment_id


@pytest.fixture
def two(home_db: Database) -> tuple[auth.User, uuid.UUID, uuid.UUID]:
    alice = auth.create_user(home_db, "alice", "correct horse battery")
    first = _experiment(home_db, alice.id, ("none", "resume"))
    second = _experiment(home_db, alice.id, ("resume", "restart", "sdk"))  # and a contender
    return alice, first, second


def _cells(comparison: analysis.ExperimentComparison) -> pd.DataFrame:
    return comparison.cells.set_index(["strategy", "fault"])


def test_each_cell_shows_both_experiments_own_figures_in_the_library_and_on_the_page(
    home_db: Database,
    two,  # noqa: ANN001
) -> None:
    alice, first, second = two
    comparison = analysis.compare_experiments(home_db, first, second, alice.id)
    assert comparison is not None
    assert [comparison.experiments[s]["experiment_id"] for s in "AB"] == [first, second]
    cells = _cells(comparison)
    drop = "drop-at-90"
    assert set(cells.index) == {
        (strategy, fault)
        for strategy in ("none", "resume", "restart", "sdk")
        for fault in (drop, "none")
    }
    for side, experiment_id in (("A", first), ("B", second)):
        summary = analysis.experiment_summary(home_db, experiment_id)
        for row in summary.itertuples():
            cell = cells.loc[(row.strategy, row.fault)]
            assert cell[f"runs {side}"] == row.runs == 2
            assert cell[f"success {side}"] == format_success(row)
            assert cell[f"token_ratio {side}"] == pytest.approx(row.token_ratio, nan_ok=True)
            assert cell[f"median_slowdown {side}"] == pytest.approx(
                row.median_slowdown, nan_ok=True
            )
    assert cells.loc[("none", drop), "success A"] == "0% (0/2, 95% CI 0–66%)"
    assert cells.loc[("none", drop), "success B"] == "not in this experiment"
    assert cells.loc[("none", drop), "runs B"] == 0
    assert cells.loc[("none", drop), "differs"] == "—"  # only one experiment ran it
    assert cells.loc[("restart", drop), "success A"] == "not in this experiment"
    # the bare SDK raises at the drop: a contender's cell, judged by the same rule
    assert cells.loc[("sdk", drop), "success B"] == "0% (0/2, 95% CI 0–66%)"
    both = cells.loc[("resume", drop)]
    assert both["success A"] == both["success B"] == "100% (2/2, 95% CI 34–100%)"
    assert both["success change"] == 0 and both["differs"] == "no"

    # The Compare page shows the same cells.
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.session_state[TOKEN_KEY] = auth.issue_access_token(alice)
    at.query_params["what"] = "experiments"
    at.query_params["ea"] = str(first)
    at.query_params["eb"] = str(second)
    at.switch_page("planner/dashboard/pages/compare.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Compare two experiments"
    shown = at.dataframe[0].value.set_index(["strategy", "fault"])
    expected = _cells(analysis.compare_experiments(home_db, first, second, alice.id))
    assert shown["success A"].to_dict() == expected["success A"].to_dict()
    assert shown["success B"].to_dict() == expected["success B"].to_dict()
    assert shown["differs"].to_dict() == expected["differs"].to_dict()
    assert shown.loc[("restart", "drop-at-90"), "median slowdown A"] == "—"  # never "None"
    assert shown.loc[("resume", "drop-at-90"), "success change"] == "+0 pts"
    assert "None" not in shown.to_string() and "nan" not in shown.to_string()
    assert any("differ in success beyond their 95% intervals" in c.value for c in at.caption)

    at.query_params["what"] = "generations"
    at.switch_page("planner/dashboard/pages/compare.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Compare two generations"

    # Someone else's experiment, or one that is not there, is not compared.
    mallory = auth.create_user(home_db, "mallory", "correct horse battery")
    assert analysis.compare_experiments(home_db, first, second, mallory.id) is None
    assert analysis.compare_experiments(home_db, first, uuid.uuid4(), alice.id) is None

    # Two success rates differ only beyond their intervals.

    def fail_resume_in_b(session) -> None:  # noqa: ANN001
        session.execute(
            update(ExperimentRun)
            .where(ExperimentRun.experiment_id == second, ExperimentRun.strategy == "resume")
            .where(ExperimentRun.fault != "none")
            .values(status="failed")
        )

    home_db.in_session(fail_resume_in_b)
    cells = _cells(analysis.compare_experiments(home_db, first, second, alice.id))
    resume = cells.loc[("resume", "drop-at-90")]
    assert resume["success B"] == "0% (0/2, 95% CI 0–66%)"
    assert resume["success change"] == pytest.approx(-1.0)
    assert resume["differs"] == "no"  # 0/2 and 2/2 overlap: 34–100% against 0–66%


@pytest.mark.parametrize(
    ("first", "second", "apart"),
    [
        ((0, 3), (3, 3), False),
        ((0, 6), (6, 6), True),
        ((2, 10), (9, 10), True),
        ((5, 10), (6, 10), False),
    ],
)
def test_rates_differ_when_their_wilson_intervals_do_not_overlap(first, second, apart) -> None:  # noqa: ANN001
    def interval(successes: int, n: int) -> tuple[float, float]:
        found = wilson_interval(successes, n)
        return found.low, found.high

    assert intervals_apart(interval(*first), interval(*second)) is apart
    assert intervals_apart(interval(*second), interval(*first)) is apart
