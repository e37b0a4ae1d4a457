"""Altair charts for the pages; each takes the analysis DataFrames as they come.

Charts receive already-small data (downsampled timelines, pre-binned histograms), so
they never embed thousands of rows in the page.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from planner.analysis.stats import rate_label

FAULT_COLOUR = "#d62839"
X_SHAPE = "M-1,-1L1,1M-1,1L1,-1"  # an ✕ (Vega's "cross" is a plus)
TIER_ORDER = ["stream", "resume", "restart", "partial", "nonstream", "failed", "unknown"]
# Counts are whole numbers: no 0.5 ticks.
COUNT_AXIS = alt.Axis(tickMinStep=1, format="d")
TIER_COLOURS = ["#2f6fdf", "#2a9d8f", "#8d6cc9", "#e9a23b", "#f4d35e", FAULT_COLOUR, "#9aa5b1"]


def chunk_timeline(
    timeline: pd.DataFrame, markers: pd.DataFrame, *, height: int = 320
) -> alt.LayerChart:
    """Cumulative characters over time, one colour per attempt, a red mark where a fault hit."""
    timeline = timeline.assign(
        attempt_label=timeline["attempt"].astype(str) + " · " + timeline["stage"].astype(str)
    )
    order = timeline.drop_duplicates("attempt").sort_values("attempt")["attempt_label"].tolist()
    lines = (
        alt.Chart(timeline)
        .mark_line(interpolate="step-after", strokeWidth=2)
        .encode(
            x=alt.X(
                "t_s:Q", title="seconds since the generation started", scale=alt.Scale(domainMin=0)
            ),
            y=alt.Y("generation_chars:Q", title="characters received (whole generation)"),
            color=alt.Color(
                "attempt_label:N",
                title="attempt · stage",
                sort=order,
                scale=alt.Scale(scheme="tableau10"),
            ),
            tooltip=[
                alt.Tooltip("attempt:N"),
                alt.Tooltip("stage:N"),
                alt.Tooltip("t_s:Q", title="seconds", format=".2f"),
                alt.Tooltip("chars_end:Q", title="characters in its stage", format=","),
                alt.Tooltip("chunks:Q", title="chunks in point", format=","),
            ],
        )
    )
    layers: list[alt.Chart] = [lines]
    if not markers.empty:
        layers.append(
            alt.Chart(markers)
            .mark_point(
                shape=X_SHAPE,
                size=160,
                strokeWidth=3.5,
                filled=False,
                color=FAULT_COLOUR,
                opacity=0.95,
            )
            .encode(
                x="t_s:Q",
                y="generation_chars:Q",
                tooltip=[
                    alt.Tooltip("attempt:N", title="failed attempt"),
                    alt.Tooltip("error_type:N", title="fault"),
                    alt.Tooltip("error_message:N", title="message"),
                    alt.Tooltip("chars_end:Q", title="at character of its stage", format=","),
                    alt.Tooltip("t_s:Q", title="at second", format=".2f"),
                ],
            )
        )
    return alt.layer(*layers).properties(height=height).interactive(bind_y=False)


def compared_timelines(timelines: pd.DataFrame) -> alt.Chart:
    """Two generations' chunk timelines on one chart: a colour per generation (A, B), a line
    per attempt."""
    return (
        alt.Chart(timelines)
        .mark_line(interpolate="step-after", strokeWidth=2)
        .encode(
            x=alt.X("t_s:Q", title="seconds since each generation started"),
            y=alt.Y("generation_chars:Q", title="characters received (whole generation)"),
            color=alt.Color("side:N", title="generation", legend=alt.Legend(orient="bottom")),
            detail="attempt:N",
            tooltip=["side:N", "attempt:N", "stage:N", alt.Tooltip("t_s:Q", format=".2f")],
        )
        .properties(height=300)
    )


def tier_bars(tiers: pd.DataFrame) -> alt.Chart:
    """How each strategy ended: stacked horizontal bars by tier."""
    return (
        alt.Chart(tiers)
        .mark_bar()
        .encode(
            y=alt.Y("strategy:N", title=None),
            x=alt.X("count:Q", title="generations", stack="zero", axis=COUNT_AXIS),
            color=alt.Color(
                "tier:N",
                scale=alt.Scale(domain=TIER_ORDER, range=TIER_COLOURS),
                title="tier",
                legend=alt.Legend(orient="bottom", columns=4),  # never clipped at the side
            ),
            order=alt.Order("tier:N"),
            tooltip=["strategy:N", "tier:N", alt.Tooltip("count:Q", format=",")],
        )
        .properties(height=alt.Step(34))
    )


def success_heatmap(rates: pd.DataFrame) -> alt.Chart:
    """Success rate per strategy × fault, with n in each cell (`fault_success_rates`).

    Every fault column keeps its label (no overlap thinning), a cell whose fault never
    fired says so instead of a rate, and one without a counted run is left grey. A
    contender's row is named so (`sdk (contender)`).
    """
    matrix = rates.assign(
        strategy=[rate_label(row) for row in rates.itertuples()],
        label=[
            "not fired"
            if row.never_fired
            else ("no runs" if not row.n else f"{row.success_rate:.0%} n={row.n}")
            for row in rates.itertuples()
        ],
    )
    base = alt.Chart(matrix).encode(
        x=alt.X(
            "fault_spec:N",
            title="fault profile",
            axis=alt.Axis(labelAngle=-40, labelOverlap=False, labelLimit=160),
        ),
        y=alt.Y("strategy:N", title=None, axis=alt.Axis(labelOverlap=False)),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "success_rate:Q",
            title="success",
            scale=alt.Scale(domain=[0, 1], scheme="redyellowgreen"),
            legend=alt.Legend(format="%"),
        ),
        tooltip=[
            "strategy:N",
            "fault_spec:N",
            alt.Tooltip("success_rate:Q", format=".0%"),
            alt.Tooltip("successes:Q", format=","),
            alt.Tooltip("n:Q", format=","),
            alt.Tooltip("ci_low:Q", title="95% CI from", format=".0%"),
            alt.Tooltip("ci_high:Q", title="95% CI to", format=".0%"),
        ],
    )
    labels = base.mark_text(fontSize=12, fontWeight="bold").encode(
        text=alt.Text("label:N"),
        color=alt.condition(
            (alt.datum.success_rate < 0.2) | (alt.datum.success_rate > 0.8),
            alt.value("white"),
            alt.value("#1b1f24"),
        ),
    )
    return (cells + labels).properties(height=alt.Step(44))


def histogram(bins: pd.DataFrame, *, x_title: str, x_format: str = ",.0f") -> alt.Chart:
    """Pre-binned counts (bin_start, bin_end, group, count) as stacked bars.

    The stacking is computed here (count_from, count_to per bin) and drawn as rectangles,
    so the x axis stays an ordinary quantitative axis with the requested number format.
    """
    stacked = bins.sort_values(["bin_start", "group"]).copy()
    stacked["count_to"] = stacked.groupby("bin_start")["count"].cumsum()
    stacked["count_from"] = stacked["count_to"] - stacked["count"]
    return (
        alt.Chart(stacked)
        .mark_rect(opacity=0.9, stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("bin_start:Q", title=x_title, axis=alt.Axis(format=x_format)),
            x2="bin_end:Q",
            y=alt.Y("count_to:Q", title="generations", axis=COUNT_AXIS),
            y2="count_from:Q",
            color=alt.Color(
                "group:N",
                title="strategy",
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("group:N", title="strategy"),
                alt.Tooltip("bin_start:Q", title="from", format=x_format),
                alt.Tooltip("bin_end:Q", title="to", format=x_format),
                alt.Tooltip("count:Q", format=","),
            ],
        )
        .properties(height=260)
    )
