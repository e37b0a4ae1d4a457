"""Fallback statistics: how each strategy ends, succeeds and what recovery costs."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from planner import analysis
from planner.dashboard import charts, nav, session
from planner.dashboard.resources import database

SUMMARY_COLUMNS = ["count", "median", "p95", "max"]


def summary_format(number_format: str) -> dict[str, object]:
    return {
        "fault_spec": st.column_config.TextColumn("fault"),
        "count": st.column_config.NumberColumn("n", format="localized"),
        **{
            name: st.column_config.NumberColumn(name, format=number_format)
            for name in SUMMARY_COLUMNS[1:]
        },
    }


def render() -> None:
    user = session.require_user()
    st.title("Fallback statistics")
    outcomes = analysis.outcomes(database(), user.user_id)
    if outcomes.empty:
        st.info(
            "No finished generations yet. Run a few on the Generate page (for instance "
            "`drop-at-90` with each strategy, and one with faults `none` as the baseline), "
            "or run an experiment; the statistics appear here.",
            icon=":material/hourglass_empty:",
        )
        st.page_link(nav.page("generate"), label="Go to Generate", icon=":material/play_circle:")
        return
    _headline(outcomes)
    st.subheader("How generations ended (tier)")
    _tiers(analysis.tier_counts(database(), user.user_id))
    st.subheader("Success rate by strategy × fault profile")
    _success(analysis.success_matrix(database(), user.user_id))
    st.subheader("Time overhead against the fault-free baseline")
    _overhead(outcomes)
    st.subheader("Wasted output tokens")
    _wasted(outcomes)


def _headline(outcomes: pd.DataFrame) -> None:
    completed = int((outcomes["status"] == "completed").sum())
    overhead = analysis.describe(outcomes.loc[outcomes["fault_spec"] != "none", "overhead_ratio"])
    columns = st.columns(4)
    columns[0].metric("Finished generations", f"{len(outcomes):,}")
    columns[1].metric(f"Completed ({completed:,} plans)", f"{completed / len(outcomes):.0%}")
    columns[2].metric(
        "Median time overhead under faults",
        "—" if math.isnan(overhead["median"]) else f"×{overhead['median']:.2f}",
    )
    columns[3].metric("Wasted output tokens", f"{int(outcomes['wasted_output_tokens'].sum()):,}")


def _tiers(tiers: pd.DataFrame) -> None:
    chart, table = st.columns([3, 2])
    chart.altair_chart(charts.tier_bars(tiers), key="tier_chart")
    pivot = tiers.pivot_table(
        index="strategy", columns="tier", values="count", aggfunc="sum", fill_value=0
    )
    pivot["total"] = pivot.sum(axis=1)
    table.dataframe(pivot, width="stretch")


def _success(matrix: pd.DataFrame) -> None:
    chart, table = st.columns([3, 2])
    chart.altair_chart(charts.success_heatmap(matrix), key="success_chart")
    table.dataframe(
        matrix,
        hide_index=True,
        width="stretch",
        column_config={
            "fault_spec": st.column_config.TextColumn("fault profile"),
            "success_rate": st.column_config.ProgressColumn(
                "success", format="percent", min_value=0.0, max_value=1.0
            ),
        },
    )


def _overhead(outcomes: pd.DataFrame) -> None:
    known = outcomes[outcomes["overhead_ratio"].notna()]
    st.caption(
        "Wall time per final token ÷ the median of your completed fault-free (`none`) "
        "generations at the same model and simulator speed. ×1.00 = no slower than without "
        "faults."
    )
    if known.empty:
        st.info(
            "No baseline yet: run a generation with fault profile `none` at the same "
            "model and speed as your faulty ones.",
            icon=":material/info:",
        )
        return
    missing = len(outcomes) - len(known)
    chart, table = st.columns([3, 2])
    chart.altair_chart(
        charts.histogram(
            analysis.histogram(known, "overhead_ratio"), x_title="× fault-free time", x_format=".2f"
        ),
        key="overhead_chart",
    )
    summary = analysis.summary_by(known, "overhead_ratio", ("strategy", "fault_spec"))
    table.dataframe(
        summary[["strategy", "fault_spec", *SUMMARY_COLUMNS]],
        hide_index=True,
        width="stretch",
        column_config=summary_format("×%.2f"),
    )
    if missing:
        table.caption(f"{missing:,} generations have no baseline at their model and speed.")


def _wasted(outcomes: pd.DataFrame) -> None:
    st.caption(
        "Output tokens the model produced that are not in the final text "
        "(thrown away by a restart, or overlap removed on resume)."
    )
    chart, table = st.columns([3, 2])
    chart.altair_chart(
        charts.histogram(
            analysis.histogram(outcomes, "wasted_output_tokens"), x_title="wasted output tokens"
        ),
        key="wasted_chart",
    )
    summary = analysis.summary_by(outcomes, "wasted_output_tokens")
    summary["share of output"] = [
        float(g["wasted_output_tokens"].sum() / max(1, g["output_tokens"].sum()))
        for _, g in outcomes.groupby("strategy", dropna=False)
    ]
    table.dataframe(
        summary[["strategy", *SUMMARY_COLUMNS, "share of output"]],
        hide_index=True,
        width="stretch",
        column_config={
            **summary_format("localized"),
            "share of output": st.column_config.NumberColumn("share of output", format="percent"),
        },
    )
