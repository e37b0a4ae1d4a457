"""The comparison statistics on plain numbers: medians with spread, the order-statistic
interval of a median, Wilson intervals of a rate, and the 'met' rule."""

from __future__ import annotations

import math

import pytest

from planner.contenders.stats import (
    Interval,
    describe,
    median_interval,
    met,
    rate,
    wilson_interval,
)


def test_a_summary_gives_n_median_quartiles_and_extremes() -> None:
    summary = describe([3.0, 1.0, 2.0, 5.0, 4.0])
    assert (summary.n, summary.median, summary.q1, summary.q3) == (5, 3.0, 2.0, 4.0)
    assert (summary.low, summary.high, summary.spread) == (1.0, 5.0, 2.0)


def test_one_value_is_its_own_summary_and_none_is_nothing() -> None:
    only = describe([1.25])
    assert (only.n, only.median, only.spread, only.low, only.high) == (1, 1.25, 0.0, 1.25, 1.25)
    assert describe([]) is None


def test_five_values_cannot_give_a_95_percent_interval_of_their_median() -> None:
    """Ranks 1 and 5 cover the median with 1 - 2/32 = 93.75%: not enough."""
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0], confidence=0.9) == Interval(1.0, 5.0, 0.9)


def test_six_values_give_their_extremes_as_the_interval_of_the_median() -> None:
    assert median_interval([6.0, 1.0, 5.0, 2.0, 4.0, 3.0]) == Interval(1.0, 6.0)


def test_twenty_values_give_ranks_six_and_fifteen() -> None:
    """P(Binomial(20, 1/2) <= 5) = 0.0207, so ranks 6..15 cover 95.9%; 7..14 only 88.5%."""
    values = [float(v) for v in range(1, 21)]
    assert median_interval(values) == Interval(6.0, 15.0)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(5, 5, 0.5655, 1.0), (0, 5, 0.0, 0.4345), (8, 10, 0.4902, 0.9433), (15, 30, 0.3315, 0.6685)],
)
def test_wilson_intervals_match_the_published_values(successes, n, low, high) -> None:
    interval = wilson_interval(successes, n)
    assert math.isclose(interval.low, low, abs_tol=5e-4)
    assert math.isclose(interval.high, high, abs_tol=5e-4)


def test_a_rate_of_nothing_spans_everything() -> None:
    nothing = rate(0, 0)
    assert math.isnan(nothing.value) and nothing.interval == Interval(0.0, 1.0)
    assert rate(3, 4).value == 0.75


def test_a_target_is_met_only_when_the_whole_interval_is_under_it() -> None:
    assert met(Interval(1.02, 1.08), 1.10)
    assert not met(Interval(1.02, 1.12), 1.10), "the median may be under it; the bound is not"
    assert not met(Interval(1.02, 1.10), 1.10)
    assert not met(None, 1.10), "no interval, no claim"


def test_a_quantile_interval_covers_the_p99_and_needs_enough_values() -> None:
    from planner.contenders.stats import quantile_interval

    values = [float(v) for v in range(1, 1001)]
    interval = quantile_interval(values, 0.99)
    assert interval is not None and interval.low < 990 < interval.high <= 1000
    assert quantile_interval(values[:100], 0.99) is None  # no rank above the p99 of 100
    median = quantile_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.5)
    assert median is not None and (median.low, median.high) == (1.0, 6.0)
