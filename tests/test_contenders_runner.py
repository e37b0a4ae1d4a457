"""The comparison runner: every cell under the same seeds and fault draws, interleaved and
shuffled per round (reproducibly), judged against each seed's fault-free answer, and folded
into summaries with n, spread and intervals."""

from __future__ import annotations

from collections import Counter

import pytest
from contender_helpers import DROP_AT_90, EOF_AT_70, NO_PREFILL_MODEL, PREFILL_MODEL, request_for

from planner.contenders import (
    BadComparison,
    Outcome,
    PlannerStrategy,
    compare,
    get_contender,
    summarize,
)
from planner.contenders.runner import Cell, plan_order, simulated_sleep
from planner.contenders.sdk_stream import SdkStream
from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


class NamedSdk(SdkStream):
    """The bare SDK under another name: two identical clients must meet identical faults."""

    def __init__(self, name: str) -> None:
        self.name = name


def _cells(names: str) -> list[Cell]:
    return [Cell(NamedSdk(name), "none") for name in names]


def test_every_round_runs_every_cell_for_every_seed_once() -> None:
    order = plan_order(_cells("abc"), seeds=[1, 2], repeats=3, shuffle_seed=7)
    assert len(order) == 3 * 3 * 2
    for round_index in range(3):
        runs = [(p.cell.contender.name, p.seed) for p in order if p.round == round_index]
        assert sorted(runs) == [(n, s) for n in "abc" for s in (1, 2)]
    assert [p.round for p in order] == sorted(p.round for p in order), "rounds do not mix"


def test_the_order_is_shuffled_per_round_and_the_same_for_the_same_seed() -> None:
    cells = _cells("abcdef")
    first = plan_order(cells, seeds=[1, 2, 3], repeats=4, shuffle_seed=11)
    again = plan_order(cells, seeds=[1, 2, 3], repeats=4, shuffle_seed=11)
    other = plan_order(cells, seeds=[1, 2, 3], repeats=4, shuffle_seed=12)

    def names(order):
        return [(p.round, p.cell.contender.name, p.seed) for p in order]

    assert names(first) == names(again)
    assert names(first) != names(other)
    per_round = [[(n, s) for r, n, s in names(first) if r == i] for i in range(4)]
    assert len({tuple(r) for r in per_round}) == 4, "each round has its own order"


def test_simulated_sleep_waits_nothing_at_unlimited_speed() -> None:
    simulated_sleep(0)(3600.0)
    simulated_sleep(float("inf"))(3600.0)


def test_a_comparison_needs_a_seed_and_a_round(sim) -> None:
    with pytest.raises(BadComparison):
        compare([SdkStream()], ["none"], [], 1, request=request_for(PREFILL_MODEL), base_url="x")


def test_identical_clients_meet_identical_faults_on_every_seed(sim) -> None:
    twins = [NamedSdk("twin-a"), NamedSdk("twin-b")]
    rows = compare(
        twins,
        ["flaky"],
        seeds=range(8),
        repeats=1,
        request=request_for(PREFILL_MODEL),
        base_url=sim.base_url,
    )
    by_seed: dict[int, dict[str, tuple]] = {}
    for row in rows:
        result = row.result
        seen = (row.outcome, result.requests, result.delivered_chars, result.error_type)
        by_seed.setdefault(row.seed, {})[row.contender] = seen
    assert all(seen["twin-a"] == seen["twin-b"] for seen in by_seed.values())
    assert len({seen["twin-a"] for seen in by_seed.values()}) > 1, "flaky broke some seeds"


def test_rows_are_judged_against_the_fault_free_answer_of_their_seed(sim) -> None:
    contenders = [get_contender("sdk"), get_contender("oracle"), PlannerStrategy("resume")]
    rows = compare(
        contenders,
        [DROP_AT_90, EOF_AT_70],
        seeds=[3, 4],
        repeats=2,
        request=request_for(NO_PREFILL_MODEL),
        base_url=sim.base_url,
        shuffle_seed=5,
    )
    assert len(rows) == 3 * 2 * 2 * 2
    assert [row.order for row in rows] == sorted(row.order for row in rows)
    outcomes = Counter((row.contender, row.fault, row.outcome) for row in rows)
    assert outcomes[("sdk", DROP_AT_90, Outcome.FAILED_RAISED)] == 4
    assert outcomes[("sdk", EOF_AT_70, Outcome.SILENTLY_TRUNCATED)] == 4
    for name in ("oracle", "planner-resume"):
        assert outcomes[(name, DROP_AT_90, Outcome.COMPLETE)] == 4
        assert outcomes[(name, EOF_AT_70, Outcome.COMPLETE)] == 4
    for row in rows:
        assert row.model == NO_PREFILL_MODEL and row.final_tokens > 1000
        assert row.fault_free_s > 0 and row.time_ratio > 0
        record = row.as_dict()
        assert record["outcome"] == row.outcome.value and record["versions"]
    oracle = [row for row in rows if row.contender == "oracle"]
    assert all(1.0 <= row.token_ratio < 1.02 and row.delivered_ratio == 1.0 for row in oracle)


def test_summaries_count_every_run_and_measure_costs_over_complete_runs_only(sim) -> None:
    rows = compare(
        [get_contender("sdk-tenacity"), get_contender("oracle")],
        [DROP_AT_90, EOF_AT_70],
        seeds=[1, 2, 3],
        repeats=2,
        request=request_for(PREFILL_MODEL),
        base_url=sim.base_url,
    )
    cells = {(cell.contender, cell.fault): cell for cell in summarize(rows)}
    assert len(cells) == 4 and all(cell.n == 6 for cell in cells.values())

    retried = cells[("sdk-tenacity", DROP_AT_90)]
    assert retried.complete.successes == 6 and retried.complete.interval.low > 0.5
    assert 1.85 < retried.token_ratio.summary.median < 1.95
    assert retried.token_ratio.interval is not None, "six values give a 95% interval"
    assert 1.85 < retried.delivered_ratio.summary.median < 1.95
    assert retried.requests.summary.median == 2

    truncated = cells[("sdk-tenacity", EOF_AT_70)]
    assert truncated.complete.successes == 0 and truncated.complete.interval.high < 0.5
    assert truncated.outcomes == {Outcome.SILENTLY_TRUNCATED: 6}
    assert truncated.token_ratio.summary is None, "no complete run, no cost"

    floor = cells[("oracle", EOF_AT_70)]
    assert floor.complete.successes == 6 and floor.token_ratio.summary.high <= 1.001
    assert floor.versions == {"anthropic": floor.versions["anthropic"]}
    assert floor.config["continue"].startswith("at once")
