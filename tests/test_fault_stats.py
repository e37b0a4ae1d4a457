"""Fault success rates you can trust: one function, the same digits everywhere (issue 16).

Only runs that ran to an outcome under the fault count; cancelled, interrupted and
configuration failures are apart; every rate has n and a 95% Wilson interval; a fault
that never fired is flagged. The dashboard, `planner stats` and the chart spec are
checked against `fault_success_rates` on the same rows.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from click.testing import CliRunner

from planner import analysis, auth
from planner.analysis.stats import StatsFilter, format_rate
from planner.cli import main
from planner.config import reset_settings
from planner.contenders.stats import wilson_interval
from planner.dashboard import charts
from planner.db import Database, GenerationAttempt
from planner.plan.spec import CANCELLED_MESSAGE
from tests.dashboard_helpers import statistics_page
from tests.rows import T0, generation


def _fail_attempts_as(db: Database, generation_id: object, error_type: str) -> None:
    def write(session) -> None:  # noqa: ANN001
        for attempt in session.query(GenerationAttempt).filter_by(generation_id=generation_id):
            attempt.error_type = error_type

    db.in_session(write)


def _rows(db: Database, user_id: object) -> None:
    """resume × drop-at-90: 2 completed + 1 failed (fired), 1 cancelled, 1 interrupted,
    1 configuration; none × flaky: 2 completed that the fault never hit."""
    drop = {"fault_spec": "drop-at-90", "strategy": "resume"}
    generation(db, user_id, **drop, fail_at_char=500, tier="resume")
    generation(db, user_id, **drop, fail_at_char=600, tier="resume", model="claude-haiku-4-5")
    generation(db, user_id, **drop, fail_at_char=500, status="failed", tier="failed")
    cancelled = generation(db, user_id, **drop, status="failed", tier="failed")
    interrupted = generation(db, user_id, **drop, status="interrupted", tier=None)
    wrong_model = generation(db, user_id, **drop, status="failed", tier="failed")
    _fail_attempts_as(db, wrong_model, "not_found")

    def errors(session) -> None:  # noqa: ANN001
        from planner.db import Generation

        session.get(Generation, cancelled).error = CANCELLED_MESSAGE
        session.get(Generation, interrupted).error = "the process running it stopped"

    db.in_session(errors)
    for _ in range(2):
        generation(db, user_id, fault_spec="flaky", strategy="none", created_at=T0.replace(day=3))


def test_rates_count_only_runs_with_an_outcome_with_n_interval_and_never_fired(
    db: Database,
) -> None:
    alice = auth.get_or_create_local_user(db).id
    _rows(db, alice)
    rates = analysis.fault_success_rates(db, alice).set_index(["strategy", "fault_spec"])
    drop = rates.loc[("resume", "drop-at-90")]
    assert (drop.n, drop.successes, drop.fired) == (3, 2, 3)
    assert (drop.cancelled, drop.interrupted, drop.configuration) == (1, 1, 1)
    interval = wilson_interval(2, 3)
    assert (drop.ci_low, drop.ci_high) == (interval.low, interval.high)
    assert not drop.never_fired
    assert format_rate(drop) == "67% (2/3, 95% CI 21–94%)"
    flaky = rates.loc[("none", "flaky")]
    assert flaky.never_fired and flaky.n == 2 and flaky.success_rate == 1.0

    haiku = analysis.fault_success_rates(db, alice, StatsFilter(models=("claude-haiku-4-5",)))
    assert haiku[["strategy", "n", "successes"]].values.tolist() == [["resume", 1, 1]]
    later = analysis.fault_success_rates(db, alice, StatsFilter(since=date(2026, 11, 2)))
    assert later["fault_spec"].tolist() == ["flaky"]
    assert analysis.fault_success_rates(db, alice, StatsFilter(speeds=(9.0,))).empty


def test_dashboard_cli_and_library_agree_to_the_digit(
    home_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_SOCKETIO_PORT", "0")
    reset_settings()
    local = auth.get_or_create_local_user(home_db)
    _rows(home_db, local.id)
    rates = analysis.fault_success_rates(home_db, local.id)
    expected = [format_rate(row) for row in rates.itertuples()]

    printed = CliRunner().invoke(main, ["stats"])
    assert printed.exit_code == 0, printed.output
    lines = printed.stdout.splitlines()
    assert [next(e for e in expected if e in line) for line in lines] == expected
    assert "(fault never fired)" in lines[0] and "configuration 1" in lines[1]
    as_json = pd.read_json(printed_json(), lines=True)
    assert as_json["n"].tolist() == rates["n"].tolist()

    user = auth.create_user(home_db, "alice", "correct horse battery")
    _rows(home_db, user.id)
    at, shown = statistics_page(user)
    assert shown["rate"].tolist() == expected
    assert any("never fired in: none × flaky" in w.value for w in at.warning)


def printed_json() -> object:
    import io

    return io.StringIO(CliRunner().invoke(main, ["stats", "--json"]).stdout)


@pytest.fixture
def rates() -> pd.DataFrame:
    faults = [f"fault-{i}" for i in range(9)]
    return pd.DataFrame(
        {
            "strategy": ["resume"] * 9,
            "fault_spec": faults,
            "n": [3, 0, 2, 1, 1, 1, 1, 1, 1],
            "successes": [2, 0, 2, 1, 0, 1, 1, 1, 1],
            "success_rate": [2 / 3, float("nan"), 1, 1, 0, 1, 1, 1, 1],
            "ci_low": [0.2] * 9,
            "ci_high": [0.9] * 9,
            "never_fired": [False, False, True, *([False] * 6)],
        }
    )


def test_the_heatmap_labels_every_fault_column_and_writes_n_in_each_cell(
    rates: pd.DataFrame,
) -> None:
    spec = charts.success_heatmap(rates).to_dict()
    cells, labels = spec["layer"]
    assert cells["encoding"]["x"]["axis"]["labelOverlap"] is False  # no column loses its label
    assert labels["encoding"]["text"]["field"] == "label"
    data = next(iter(spec["datasets"].values()))
    assert [d["label"] for d in data][:3] == ["67% n=3", "no runs", "not fired"]


def test_counts_have_integer_axes_legends_below_and_no_zero_only_histogram_ticks() -> None:
    tiers = pd.DataFrame(
        {"strategy": ["resume", "none"], "tier": ["resume", "stream"], "count": [1, 2]}
    )
    bars = charts.tier_bars(tiers).to_dict()
    assert bars["encoding"]["x"]["axis"] == {"format": "d", "tickMinStep": 1}
    assert bars["encoding"]["color"]["legend"]["orient"] == "bottom"
    frame = pd.DataFrame({"strategy": ["a", "b", "a"], "wasted_output_tokens": [0, 0, 0]})
    bins = analysis.histogram(frame, "wasted_output_tokens")
    assert bins[["bin_start", "bin_end"]].values.tolist() == [[0.0, 1.0], [0.0, 1.0]]
    histogram = charts.histogram(bins, x_title="wasted output tokens").to_dict()
    assert histogram["encoding"]["y"]["axis"] == {"format": "d", "tickMinStep": 1}
    narrow = pd.DataFrame({"strategy": ["a"] * 3, "wasted_output_tokens": [0, 3, 3]})
    edges = analysis.histogram(narrow, "wasted_output_tokens")
    assert edges[["bin_start", "count"]].values.tolist() == [[0.0, 1], [3.0, 2]]
