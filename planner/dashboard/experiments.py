"""Experiments: a fault × strategy matrix, run with progress, compared afterwards."""

from __future__ import annotations

import uuid

import altair as alt
import pandas as pd
import streamlit as st

from planner import analysis, jobs
from planner.analysis.stats import StatsFilter
from planner.contenders import RUN_CHOICES, STRATEGY, installed
from planner.dashboard import charts, experiment_jobs, nav, session, widgets
from planner.dashboard.resources import database
from planner.dashboard.text import literal
from planner.experiments import DEFAULT_DESCRIPTION, ExperimentConfig, ExperimentError
from planner.llm import STRATEGIES
from planner.sim import PROFILES

POLL_S = 1.0
SELECTED_KEY = "experiment_selected"
FINISHED = ("completed", "failed", "interrupted")


def render() -> None:
    user = session.require_user()
    st.title("Experiments")
    st.caption(
        "Which recovery strategy survives which failure, at what cost? Every cell of the "
        "matrix is a real generation against the simulator, with paired seeds and "
        "fault-free baselines."
    )
    experiments = analysis.list_experiments(database(), user_id=user.user_id)
    with st.expander("New experiment", expanded=experiments.empty, icon=":material/add:"):
        _form(user.user_id)
    if experiments.empty:
        st.info(
            "No experiments yet. Configure a small matrix above (two faults, four "
            "strategies, one repeat at speed 100 takes about a minute) and run it.",
            icon=":material/science:",
        )
        return
    labels = {
        str(r.experiment_id): f"{r.created_at:%Y-%m-%d %H:%M} · {r.status} · "
        f"{len(r.faults)} faults × {len(r.strategies)} strategies × {r.repeats}"
        + (f" · {r.name}" if r.name else "")
        for r in experiments.itertuples()
    }
    default = st.session_state.get(SELECTED_KEY)
    ids = list(labels)
    chosen = st.selectbox(
        "Experiment", ids, format_func=labels.get, index=ids.index(default) if default in ids else 0
    )
    st.session_state[SELECTED_KEY] = chosen
    row = experiments[experiments["experiment_id"].astype(str) == chosen].iloc[0]
    _experiment(uuid.UUID(chosen), row, user.user_id)


def _form(user_id: uuid.UUID) -> None:
    profiles = [p for p in PROFILES if p != "none"]
    left, right = st.columns(2)
    faults = left.multiselect(
        "Fault profiles",
        profiles,
        default=["drop-at-90", "flaky"],
        key="exp_faults",
        help="The fault-free baseline (`none`) is always added.",
    )
    # planner's strategies, then the installed contenders (other libraries, the oracle)
    choices = [c.name for c in RUN_CHOICES.values() if c.kind == STRATEGY or installed(c.name)]
    strategies = right.multiselect(
        "Strategies and contenders",
        choices,
        # the oracle too: every summary then shows each strategy's distance to the floor
        default=[*STRATEGIES, "oracle"],
        key="exp_strategies",
        format_func=lambda name: f"{name}: {RUN_CHOICES[name].description}",
    )
    extra = st.text_input(
        "Extra fault spec (JSON, optional)",
        key="exp_extra",
        placeholder='[{"type": "reset", "at_fraction": 0.5, "on_requests": [1]}]',
    )
    repeats_col, concurrency_col, speed_col, seed_col = st.columns(4)
    repeats = repeats_col.number_input("Repeats", 1, 50, 1, key="exp_repeats")
    concurrency = concurrency_col.number_input("Concurrency", 1, 8, 2, key="exp_concurrency")
    speed = speed_col.number_input("Simulator speed", 0.1, 1_000_000.0, 100.0, key="exp_speed")
    seed = seed_col.number_input("Seed", 0, 2**31 - 1, 0, key="exp_seed")
    description = st.text_area("Project description", DEFAULT_DESCRIPTION, key="exp_description")
    name = st.text_input("Name (optional)", key="exp_name")
    all_faults = [*faults, *([extra.strip()] if extra.strip() else [])]
    with st.expander("What the chosen faults and strategies do"):
        st.markdown(
            "\n".join(
                [f"- **{literal(f)}**: {literal(analysis.describe_faults(f))}" for f in all_faults]
                + [
                    f"- **{literal(s)}**: {literal(analysis.describe_strategy(s))}"
                    for s in strategies
                ]
            )
            or "Nothing chosen yet."
        )
    cells = (len(set(all_faults) | {"none"})) * len(strategies) * int(repeats)
    st.caption(f"{cells} generations, including the fault-free baselines.")
    if not st.button(
        "Run experiment", type="primary", icon=":material/play_arrow:", key="exp_start"
    ):
        return
    config = ExperimentConfig(
        faults=tuple(all_faults),
        strategies=tuple(strategies),
        repeats=int(repeats),
        concurrency=int(concurrency),
        speed=float(speed),
        seed=int(seed),
        description=description,
        name=name.strip(),
    )
    try:
        experiment_id = experiment_jobs.start(database(), config, user_id)
    except ExperimentError as exc:
        st.error(f"The experiment cannot run: {literal(exc)}", icon=":material/error:")
        return
    st.session_state[SELECTED_KEY] = str(experiment_id)
    st.rerun()


def _experiment(experiment_id: uuid.UUID, row: pd.Series, user_id: uuid.UUID) -> None:
    job = experiment_jobs.job_for(experiment_id, user_id)
    if row["status"] not in FINISHED:
        on_workers = jobs.uses_jobs(database())
        if on_workers or (job is not None and job.alive):
            if on_workers:
                st.caption("Its runs are jobs: any `planner worker` runs them.")
            _running(experiment_id, user_id)
            if st.button(
                "Stop after the runs under way", icon=":material/stop_circle:", key="exp_stop"
            ):
                experiment_jobs.stop(database(), experiment_id, user_id)
                st.toast("Stopping: no new runs start; those under way finish.")
                st.rerun()
            return
        st.info(
            "This experiment is still marked running but is not running in this "
            "dashboard (the CLI or another process runs it, or that process died). "
            "Its results so far:",
            icon=":material/info:",
        )
    if job is not None and job.error:
        st.error(f"The experiment stopped with an error: {literal(job.error)}")
    _results(
        analysis.experiment_runs(database(), experiment_id),
        analysis.fault_success_rates(database(), user_id, StatsFilter(experiment_id=experiment_id)),
        final=row["status"] == "completed",
    )


def _running(experiment_id: uuid.UUID, user_id: uuid.UUID) -> None:
    @st.fragment(run_every=POLL_S)
    def poll() -> None:
        if jobs.uses_jobs(database()):
            if analysis.experiment_status(database(), experiment_id) in FINISHED:
                st.rerun()
        else:
            job = experiment_jobs.job_for(experiment_id, user_id)
            if job is None or not job.alive:
                st.rerun()
        with database().held():
            runs = analysis.experiment_runs(database(), experiment_id)
        done = int(runs["status"].isin(FINISHED).sum())
        total = max(1, len(runs))
        st.progress(done / total, text=f"{done} of {total} generations finished")
        st.dataframe(
            runs[
                [
                    "strategy",
                    "fault",
                    "repeat_index",
                    "status",
                    "tier",
                    "attempts",
                    "duration_s",
                    "slowdown",
                    "error",
                ]
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "repeat_index": st.column_config.NumberColumn("repeat"),
                "duration_s": st.column_config.NumberColumn("duration", format="%.1f s"),
                "slowdown": st.column_config.NumberColumn("slowdown", format="×%.2f"),
            },
        )

    poll()


def _results(runs: pd.DataFrame, rates: pd.DataFrame, *, final: bool) -> None:
    """The comparison; the verdict only for an experiment that ran to its end."""
    if runs.empty:
        st.caption("No runs stored.")
        return
    summary = analysis.summarize(runs)
    if summary.empty:
        st.caption("No run has finished yet.")
        return
    ranking = analysis.rank_strategies(runs) if final else pd.DataFrame()
    if not ranking.empty:
        best = ranking.iloc[0]
        st.success(
            f"Best under faults: **{literal(best['strategy'])}**, "
            f"{best['success_rate']:.0%} success"
            + (
                f", median slowdown ×{best['median_slowdown']:.2f}"
                if pd.notna(best["median_slowdown"])
                else ""
            ),
            icon=":material/emoji_events:",
        )
    # one above the other: side by side, a 900 px window clipped both charts' labels
    heat, slow = st.container(), st.container()
    heat.markdown("**Success rate** (n: runs that ran to an outcome under the fault)")
    heat.altair_chart(charts.success_heatmap(rates), key="exp_success", width="stretch")
    slow.markdown("**Median slowdown (× fault-free time)**")
    if summary["median_slowdown"].notna().any():
        slow.altair_chart(_slowdown_chart(summary), key="exp_slowdown", width="stretch")
    else:
        slow.caption(
            "No slowdown yet: it needs a completed run and its fault-free baseline "
            "with the same seed."
        )
    oracle = "median ÷ the oracle's run of the same draw [95%]"
    widgets.cells_table(
        analysis.shown_summary(summary),
        {
            "success": ("success", "runs whose final text equals the fault-free answer"),
            "vs oracle time": ("vs oracle time", oracle),
            "vs oracle tokens": ("vs oracle tokens", oracle),
        },
    )
    with st.expander("Every run"):
        st.dataframe(
            every_run_table(runs),
            hide_index=True,
            width="stretch",
            column_config={
                "run_id": st.column_config.TextColumn("run"),
                "generation": st.column_config.LinkColumn(
                    "generation", display_text=r"detail\?id=(.{8})", help="Open its detail"
                ),
            },
        )
    st.caption(
        "Slowdown: model time ÷ the fault-free run's with the same seed (1.00 = no cost). "
        "Output ÷ final tokens: 1.00 = nothing generated twice."
    )


def _slowdown_chart(summary: pd.DataFrame) -> alt.Chart:
    data = summary.dropna(subset=["median_slowdown"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("strategy:N", title=None),
            x=alt.X("median_slowdown:Q", title="× fault-free time"),
            color=alt.Color("strategy:N", legend=None, scale=alt.Scale(scheme="tableau10")),
            row=alt.Row("fault:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
            tooltip=[
                "strategy:N",
                "fault:N",
                alt.Tooltip("median_slowdown:Q", format=".2f"),
                alt.Tooltip("p95_slowdown:Q", format=".2f"),
            ],
        )
        # a faceted chart cannot take the container's width: a fixed one that fits a
        # 900 px window beside the row labels
        .properties(height=alt.Step(16), width=300)
    )


def every_run_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs with ids as text (a UUID column otherwise shows as a byte array) and a
    link from each run to its generation's detail page."""
    table = runs.drop(columns=["experiment_id", "fault_spec"]).copy()
    table["run_id"] = table["run_id"].map(lambda v: "" if v is None else str(v))
    table.insert(
        0,
        "generation",
        table.pop("generation_id").map(
            lambda v: f"{nav.PAGES['detail'].url_path}?id={v}" if pd.notna(v) else None
        ),
    )
    return table
