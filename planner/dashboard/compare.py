"""Compare: two of the user's generations side by side (`?a=<id>&b=<id>`).

Figures (attempts, tokens, cost, time), the two chunk timelines on one chart, each
one's attempts explained, and the tasks only one of the two plans has. Everything comes
from `analysis.compare_generations`.
"""

from __future__ import annotations

import uuid

import streamlit as st

from planner import analysis
from planner.analysis.compare import SIDES
from planner.dashboard import charts, nav, session, widgets
from planner.dashboard.resources import database
from planner.dashboard.text import literal


def render() -> None:
    user = session.require_user()
    st.title("Compare two generations")
    recent = analysis.history_page(database(), user.user_id, page_size=50)
    if len(recent) < 2:
        st.info(
            "Two generations are needed: run another one (for instance the same description "
            "with another strategy or fault profile).",
            icon=":material/hourglass_empty:",
        )
        st.page_link(nav.page("generate"), label="Go to Generate", icon=":material/play_circle:")
        return
    labels = {
        str(r.id): f"{r.created_at:%Y-%m-%d %H:%M} · {r.status} · {r.strategy}/{r.fault_spec} · "
        f"{r.title[:50]}"
        for r in recent.itertuples()
    }
    options = list(labels)
    chosen = []
    for column, side, default in zip(st.columns(2), SIDES, (1, 0), strict=True):
        current = st.query_params.get(side.lower())
        index = options.index(current) if current in options else default
        pick = column.selectbox(
            f"Generation {side}", options, index=index, format_func=labels.get, key=f"cmp_{side}"
        )
        st.query_params[side.lower()] = pick
        chosen.append(uuid.UUID(pick))
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
