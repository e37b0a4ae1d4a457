"""Fallback statistics: how each strategy ends, succeeds and what recovery costs.

Success rates come from `analysis.fault_success_rates`, the function `planner stats` and
the notebooks call too, so the three agree to the digit; the filters (experiment, dates,
model, speed) narrow every chart and table of the page alike. Experiments' contender runs
(other libraries' recovery paths, the oracle) have no generation: they are rows of the
success table and heatmap only, named "(contender)".
"""

from __future__ import annotations

import math
import uuid
from datetime import date

import pandas as pd
import streamlit as st

from planner import analysis
from planner.analysis.contender_outcomes import contender_run_outcomes
from planner.analysis.stats import StatsFilter, format_rate, rate_label, run_outcomes
from planner.dashboard import charts, session, widgets
from planner.dashboard.resources import database
from planner.dashboard.text import literal

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
    contenders = contender_run_outcomes(database(), user.user_id)
    if outcomes.empty and contenders.empty:
        widgets.empty_state(
            "No finished generations yet. Run a few on the Generate page (for instance "
            "`drop-at-90` with each strategy, and one with faults `none` as the baseline), "
            "or run an experiment; the statistics appear here.",
            go_to="generate",
        )
        return
    filters = _filters(user.user_id, outcomes, contenders)
    chosen = set(run_outcomes(database(), user.user_id, filters)["id"])
    outcomes = outcomes[outcomes["id"].isin(chosen)]
    rates = analysis.fault_success_rates(database(), user.user_id, filters)
    if outcomes.empty and rates.empty:
        st.info("No finished generation matches these filters.", icon=":material/filter_alt_off:")
        return
    if not outcomes.empty:
        _headline(outcomes)
        st.subheader("How generations ended (tier)")
        _tiers(_tier_counts(outcomes))
    st.subheader("Success rate by strategy × fault profile")
    _success(rates)
    if outcomes.empty:
        st.caption("No generation matches these filters: only contender runs do.")
        return
    st.subheader("Time overhead against the fault-free baseline")
    _overhead(outcomes)
    st.subheader("Wasted output tokens")
    _wasted(outcomes)


def _headline(outcomes: pd.DataFrame) -> None:
    completed = int((outcomes["status"] == "completed").sum())
    overhead = analysis.describe(outcomes.loc[outcomes["fault_spec"] != "none", "overhead_ratio"])
    columns = [*st.columns(2), *st.columns(2)]  # two rows: whole labels at 900 px
    columns[0].metric("Finished generations", f"{len(outcomes):,}")
    columns[1].metric(f"Completed ({completed:,} plans)", f"{completed / len(outcomes):.0%}")
    columns[2].metric(
        "Median time overhead under faults",
        "—" if math.isnan(overhead["median"]) else f"×{overhead['median']:.2f}",
    )
    columns[3].metric("Wasted output tokens", f"{int(outcomes['wasted_output_tokens'].sum()):,}")


def _filters(user_id: uuid.UUID, outcomes: pd.DataFrame, contenders: pd.DataFrame) -> StatsFilter:
    experiments = analysis.list_experiments(database(), user_id=user_id)
    labels = {"": "all generations"} | {
        str(r.experiment_id): f"{r.created_at:%Y-%m-%d %H:%M} · {r.name or 'experiment'}"
        for r in experiments.itertuples()
    }
    left, dates, models, speeds = st.columns(4)
    experiment = left.selectbox(
        "Experiment", list(labels), format_func=labels.get, key="stats_experiment"
    )
    picked = dates.date_input("Started between", value=(), key="stats_dates", format="YYYY-MM-DD")
    days = [d for d in (picked if isinstance(picked, tuple | list) else [picked]) if d]
    known_models = {*outcomes["model"], *contenders["model"].dropna()}
    model = models.multiselect("Model", sorted(known_models), key="stats_models")
    speed = speeds.multiselect(
        "Simulator speed", sorted({*outcomes["speed"], *contenders["speed"]}), key="stats_speeds"
    )
    return StatsFilter(
        experiment_id=uuid.UUID(experiment) if experiment else None,
        since=days[0] if days and isinstance(days[0], date) else None,
        until=days[-1] if days and isinstance(days[-1], date) else None,
        models=tuple(model),
        speeds=tuple(float(s) for s in speed),
    )


def _tier_counts(outcomes: pd.DataFrame) -> pd.DataFrame:
    tiers = outcomes.assign(tier=outcomes["tier"].fillna("unknown"))
    return tiers.groupby(["strategy", "tier"]).size().rename("count").reset_index()


def _tiers(tiers: pd.DataFrame) -> None:
    chart, table = st.container(), st.container()  # stacked: readable at 900 px
    chart.altair_chart(charts.tier_bars(tiers), key="tier_chart", width="stretch")
    pivot = tiers.pivot_table(
        index="strategy", columns="tier", values="count", aggfunc="sum", fill_value=0
    )
    pivot["total"] = pivot.sum(axis=1)
    table.dataframe(pivot, width="stretch")


def _success(rates: pd.DataFrame) -> None:
    st.caption(
        "Only runs that ran to an outcome under the fault count (n); cancelled, "
        "interrupted and configuration failures (a wrong model, a refused key) are shown "
        "apart. The interval is the 95% Wilson interval. *not fired*: the fault hit none "
        "of the runs, so the rate says nothing about recovery."
    )
    st.altair_chart(charts.success_heatmap(rates), key="success_chart", width="stretch")
    table = rates.assign(
        strategy=[rate_label(row) for row in rates.itertuples()],
        rate=[format_rate(row) for row in rates.itertuples()],
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_order=[
            "strategy",
            "fault_spec",
            "rate",
            "n",
            "never_fired",
            "cancelled",
            "interrupted",
            "configuration",
        ],
        column_config={
            "fault_spec": st.column_config.TextColumn("fault profile"),
            "rate": st.column_config.TextColumn("success (n, 95% CI)"),
            "never_fired": st.column_config.CheckboxColumn("fault never fired"),
        },
    )
    unfired = rates[rates["never_fired"]]
    if not unfired.empty:
        cells = ", ".join(
            f"{literal(rate_label(r))} × {literal(r.fault_spec)}" for r in unfired.itertuples()
        )
        st.warning(f"The fault never fired in: {cells}.", icon=":material/warning:")


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
    chart, table = st.container(), st.container()
    chart.altair_chart(
        charts.histogram(
            analysis.histogram(known, "overhead_ratio"), x_title="× fault-free time", x_format=".2f"
        ),
        key="overhead_chart",
        width="stretch",
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
    chart, table = st.container(), st.container()
    chart.altair_chart(
        charts.histogram(
            analysis.histogram(outcomes, "wasted_output_tokens"), x_title="wasted output tokens"
        ),
        key="wasted_chart",
        width="stretch",
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
