"""Compare: two of the user's generations (`?a=<id>&b=<id>`) or two of their experiments
(`?what=experiments&ea=<id>&eb=<id>`) side by side.

Generations: figures (attempts, tokens, cost, time), the two chunk timelines on one chart,
each one's attempts explained, and the tasks only one of the two plans has
(`analysis.compare_generations`). Experiments: every strategy × fault cell with both
experiments' success rate (n, 95% interval), median slowdown and token ratio, and whether
the success rates differ beyond their intervals (`analysis.compare_experiments`).
"""

from __future__ import annotations

import uuid

import streamlit as st

from planner import analysis
from planner.analysis.compare import SIDES
from planner.analysis.experiments import fault_label
from planner.dashboard import charts, session, widgets
from planner.dashboard.resources import database
from planner.dashboard.text import literal

GENERATIONS = "Two generations"
EXPERIMENTS = "Two experiments"


def render() -> None:
    user = session.require_user()
    experiments = st.query_params.get("what") == "experiments"
    what = st.segmented_control(
        "Compare", [GENERATIONS, EXPERIMENTS], default=EXPERIMENTS if experiments else GENERATIONS
    )
    if what == EXPERIMENTS:
        st.query_params["what"] = "experiments"
        _experiments(user.user_id)
    else:
        st.query_params.pop("what", None)
        _generations(user)


def _pick(options: list[str], labels: dict[str, str], what: str, prefix: str) -> list[uuid.UUID]:
    """One selectbox per side, each remembered in the query (`?a=`, `?ea=`, ...)."""
    chosen = []
    for column, side, default in zip(st.columns(2), SIDES, (1, 0), strict=True):
        name = f"{prefix}{side.lower()}"
        current = st.query_params.get(name)
        index = options.index(current) if current in options else default
        pick = column.selectbox(
            f"{what} {side}", options, index=index, format_func=labels.get, key=f"cmp_{name}"
        )
        st.query_params[name] = pick
        chosen.append(uuid.UUID(pick))
    return chosen


def _experiments(user_id: uuid.UUID) -> None:
    st.title("Compare two experiments")
    owned = analysis.list_experiments(database(), user_id=user_id)
    if len(owned) < 2:
        widgets.empty_state(
            "Two experiments are needed: run another one (for instance the same matrix at "
            "another speed or with more repeats).",
            go_to="experiments",
        )
        return
    labels = {
        str(r.experiment_id): f"{r.created_at:%Y-%m-%d %H:%M} · {r.status} · "
        f"{(r.name or 'unnamed')[:40]} · ×{r.speed:g} · {r.repeats} repeats"
        for r in owned.itertuples()
    }
    chosen = _pick(list(labels), labels, "Experiment", "e")
    comparison = analysis.compare_experiments(database(), *chosen, user_id)
    if comparison is None:
        st.error("One of these is not among your experiments.")
        return
    cells = comparison.cells.copy()
    if cells.empty:
        st.caption("Neither experiment has a finished run yet.")
        return
    cells["fault"] = cells["fault"].map(fault_label)
    differing = int((cells["differs"] == "yes").sum())
    st.caption(
        f"{len(cells):,} strategy × fault cells; {differing:,} differ in success beyond "
        "their 95% intervals. Slowdown: model time ÷ the fault-free run's with the same "
        "seed; tokens: output ÷ final tokens (1.00 = nothing generated twice)."
    )
    widgets.cells_table(
        analysis.shown_cells(cells),
        {
            "success change": ("success B − A", "in points of success rate"),
            "differs": ("differs", "yes: the two success intervals do not overlap"),
        },
    )


def _generations(user: session.SessionUser) -> None:
    st.title("Compare two generations")
    recent = analysis.history_page(database(), user.user_id, page_size=50)
    if len(recent) < 2:
        widgets.empty_state(
            "Two generations are needed: run another one (for instance the same description "
            "with another strategy or fault profile).",
            go_to="generate",
        )
        return
    labels = {str(r.id): widgets.generation_label(r, title_chars=50) for r in recent.itertuples()}
    chosen = _pick(list(labels), labels, "Generation", "")
    comparison = analysis.compare_generations(database(), *chosen, user.user_id)
    if comparison is None:
        st.error("One of these is not among your generations.")
        return
    st.subheader("Figures")
    figures = comparison.figures.astype({side: str for side in SIDES})
    st.dataframe(figures.replace({"None": "—", "nan": "—"}), hide_index=True, width="stretch")
    st.subheader("Chunk timelines")
    if comparison.timelines.empty:
        st.caption("No chunks recorded for either.")
    else:
        st.altair_chart(
            charts.compared_timelines(comparison.timelines), key="cmp_timeline", width="stretch"
        )
    st.subheader("Attempts")
    for column, side in zip(st.columns(2), SIDES, strict=True):
        with column:
            st.markdown(f"**{side}** · {widgets.status_badge(comparison.rows[side]['status'])}")
            widgets.attempts_dataframe(
                analysis.attempts_table(database(), chosen[SIDES.index(side)])
            )
    st.subheader("What differs in the plans")
    if comparison.plan_diff.empty:
        st.caption("The same phases and tasks in both (or no plan stored for either).")
    else:
        st.caption(f"{len(comparison.plan_diff):,} tasks are in one plan only.")
        st.dataframe(comparison.plan_diff, hide_index=True, width="stretch")
    for side in SIDES:
        st.caption(f"{side}: {literal(comparison.rows[side]['description'], limit=160)}")
