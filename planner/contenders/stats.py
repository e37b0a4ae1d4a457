"""Small, exact statistics for comparisons measured a few times: medians, spread, intervals.

Recovery runs are few and their costs skewed, so every figure is a median shown with its
spread and n, and every claim carries a 95% interval:

- `describe(values)`: n, median, quartiles and extremes.
- `median_interval(values)`: the distribution-free interval of the median from order
  statistics (the sign-test interval: ranks k and n+1-k, with coverage
  1 - 2 * P(Binomial(n, 1/2) < k) at least the confidence). No random resampling, so the
  same data give the same interval; below 6 values no pair of ranks reaches 95%, and there
  is no interval rather than a flattering one.
- `quantile_interval(values, q)`: the same for any quantile (a p99 latency): ranks l < u
  with P(l <= Binomial(n, q) < u) at least the confidence; none when n is too small for
  the upper rank to exist (a p99 from 100 values has no interval).
- `wilson_interval(successes, n)`: the Wilson score interval of a proportion, which stays
  inside [0, 1] and is honest at 0/n and n/n, where the normal approximation collapses.
- `met(interval, target)`: a cost target (lower is better) is met only when the interval's
  upper bound is under it; without an interval it is not met.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @property
    def spread(self) -> float:
        """The interquartile range."""
        return self.q3 - self.q1


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float = CONFIDENCE


@dataclass(frozen=True)
class Rate:
    successes: int
    n: int
    interval: Interval

    @property
    def value(self) -> float:
        return self.successes / self.n if self.n else math.nan


def describe(values: Sequence[float]) -> Summary | None:
    """The median, quartiles and extremes of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        only = ordered[0]
        return Summary(1, only, only, only, only, only)
    q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Summary(len(ordered), median, q1, q3, ordered[0], ordered[-1])


def _binomial_half_cdf(k: int, n: int) -> float:
    """P(Binomial(n, 1/2) <= k)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval | None:
    """The order-statistic interval of the median with at least `confidence` coverage."""
    n = len(values)
    ordered = sorted(values)
    best = None
    for k in range(1, n // 2 + 1):
        if 1 - 2 * _binomial_half_cdf(k - 1, n) >= confidence:
            best = k
        else:
            break
    if best is None:
        return None
    return Interval(ordered[best - 1], ordered[n - best], confidence)


def _binomial_cdf(n: int, p: float) -> list[float]:
    """P(Binomial(n, p) <= k) for k = 0..n, in log space (no underflow at large n)."""
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    cdf, total = [], 0.0
    for k in range(n + 1):
        log_pmf = log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p
        total += math.exp(log_pmf + (n - k) * log_q)
        cdf.append(min(total, 1.0))
    return cdf


def quantile_interval(
    values: Sequence[float], q: float, confidence: float = CONFIDENCE
) -> Interval | None:
    """The order-statistic interval of the q-quantile with at least `confidence` coverage."""
    n = len(values)
    if n == 0 or not 0 < q < 1:
        return None
    ordered = sorted(values)
    cdf = _binomial_cdf(n, q)
    tail = (1 - confidence) / 2
    # ranks are 1-based: P(X_(l) <= quantile < X_(u)) = P(l <= B <= u - 1) = F(u-1) - F(l-1)
    lows = [rank for rank in range(1, n + 1) if cdf[rank - 1] <= tail]
    highs = [rank for rank in range(1, n + 1) if 1 - cdf[rank - 1] <= tail]
    if not lows or not highs:
        return None
    return Interval(ordered[lows[-1] - 1], ordered[highs[0] - 1], confidence)


def _z(confidence: float) -> float:
    return statistics.NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """The Wilson score interval of `successes` in `n` (the whole [0, 1] when n is 0)."""
    if n == 0:
        return Interval(0.0, 1.0, confidence)
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half), confidence)


def rate(successes: int, n: int, confidence: float = CONFIDENCE) -> Rate:
    return Rate(successes, n, wilson_interval(successes, n, confidence))


def met(interval: Interval | None, target: float) -> bool:
    """A cost target is met only when the whole interval lies under it."""
    return interval is not None and interval.high < target


__all__ = [
    "CONFIDENCE",
    "Interval",
    "Rate",
    "Summary",
    "describe",
    "median_interval",
    "met",
    "quantile_interval",
    "rate",
    "wilson_interval",
]
