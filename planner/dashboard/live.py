"""Following one generation: live while it runs, then its outcome.

The generation runs in the generation service's threads, which never touch Streamlit.
This view only reads what they store (the generation row, its events and chunks) from a
fragment that reruns every `POLL_S` seconds, so a refreshed page or a second tab shows
exactly the same thing as the tab that started it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import streamlit as st

from planner import analysis
from planner.dashboard import nav, plan_view, widgets
from planner.dashboard.resources import database
from planner.dashboard.text import code, literal
from planner.db import utcnow
from planner.store import LIVE_STATUSES

POLL_S = 0.7
TAIL_CHARS = 1800
ANNOUNCED_KEY = "announced_recoveries"


def render_running(generation_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The live panel; when the generation ends, the whole page reruns to show the outcome."""

    @st.fragment(run_every=POLL_S)
    def poll() -> None:
        with database().held():
            row = analysis.get_generation(database(), generation_id, user_id)
            if row is None or row["status"] not in LIVE_STATUSES or analysis.seems_dead(row):
                st.rerun()  # the page shows the outcome (a dead run is marked interrupted)
            _live_panel(row)

    poll()


def _live_panel(row: dict[str, Any]) -> None:
    generation_id = row["id"]
    progress = analysis.latest_progress(database(), generation_id) or {}
    recoveries = analysis.recoveries(database(), generation_id)
    elapsed = max(0.001, (utcnow() - row["started_at"]).total_seconds())
    tokens = int(progress.get("tokens_received", 0))
    percentage = float(progress.get("percentage", 0.0))
    attempt = int(progress.get("attempt", max(1, row["attempts"])))
    tier = recoveries["tier"].iloc[-1] if not recoveries.empty else "stream"

    st.markdown(run_heading(row))
    st.markdown(widgets.settings_line(row))
    if row["status"] == "queued":
        st.info(
            "Queued: it starts as soon as one of the generation service's slots is free.",
            icon=":material/schedule:",
        )
    phase = progress.get("current_phase") or ""
    label = f"{percentage:.0f}% · {literal(row['stage'])} stage" + (
        f" · {literal(phase)}" if phase else ""
    )
    st.progress(min(1.0, percentage / 100.0), text=label)
    columns = st.columns(5)
    columns[0].metric(
        "Tokens received",
        f"{tokens:,}",
        help=f"of about {int(progress.get('estimated_total', 0)):,} expected",
    )
    columns[1].metric("Tokens / s", f"{tokens / elapsed:,.1f}")
    columns[2].metric("Attempt", attempt)
    columns[3].metric("Tier", tier)
    columns[4].metric("Elapsed", f"{elapsed:,.1f} s")
    _announce(generation_id, recoveries)
    chart, tail = st.columns([3, 2])
    with chart:
        st.markdown("**Chunk timeline**")
        widgets.timeline(generation_id, key="live_timeline", height=300)
    with tail:
        st.markdown("**Latest text**")
        text = analysis.text_tail(database(), generation_id, max_chars=TAIL_CHARS)
        st.code(
            text or "waiting for the first chunk…", language="json", wrap_lines=True, height=300
        )


def run_heading(row: dict[str, Any]) -> str:
    """Which run this is: its description and id, so two runs are never confused."""
    return (
        f"**{literal(row['description'], limit=90)}** · run {code(str(row['id'])[:8])} · "
        f"started {row['started_at']:%H:%M:%S} UTC"
    )


def _announce(generation_id: uuid.UUID, recoveries: Any) -> None:
    """Every recovery stays listed; a new one also pops up as a toast when it happens."""
    announced: set[tuple[str, int]] = st.session_state.setdefault(ANNOUNCED_KEY, set())
    for row in recoveries.itertuples():
        message = widgets.recovery_message(row)
        st.warning(message, icon=":material/autorenew:")
        key = (str(generation_id), int(row.seq))
        if key not in announced:
            announced.add(key)
            st.toast(widgets.recovery_message(row, short=True), icon=":material/autorenew:")


def render_outcome(row: dict[str, Any], user_id: uuid.UUID, actions: Callable[[], None]) -> None:
    """The finished generation: its plan, or a clear error, and what happened on the way.

    `actions` draws the page's own buttons right under the verdict.
    """
    generation_id = row["id"]
    recoveries = analysis.recoveries(database(), generation_id)
    tables = (
        analysis.load_plan(database(), row["masterplan_id"], user_id)
        if row["masterplan_id"]
        else None
    )
    if row["status"] == "completed" and tables is not None:
        plan = tables.plan
        st.success(
            f"**{literal(plan['project_name'])}** is ready: {plan['total_phases']} phases, "
            f"{plan['total_milestones']} milestones, {plan['total_tasks']} tasks, "
            f"{plan['total_subtasks']} subtasks in {row['duration_s'] or 0:,.1f} s "
            f"(tier {code(row['tier'])}, {row['attempts']} attempts).",
            icon=":material/check_circle:",
        )
    else:
        st.error(
            f"The generation {literal(row['status'])}"
            + (f" (tier {code(row['tier'])})" if row["tier"] else "")
            + f": {literal(row['error'] or 'no error message was recorded')}",
            icon=":material/error:",
        )
    st.markdown(run_heading(row))
    st.markdown(widgets.settings_line(row))
    link, buttons = st.columns([2, 3], vertical_alignment="center")
    link.page_link(
        nav.page("detail"),
        label="Open the full detail (attempts, events, downloads)",
        icon=":material/account_tree:",
        query_params={"id": str(generation_id)},
    )
    with buttons:
        actions()
    for recovery in recoveries.itertuples():
        st.warning(widgets.recovery_message(recovery), icon=":material/autorenew:")
    widgets.timeline(generation_id, key="outcome_timeline", height=260)
    if tables is not None:
        st.subheader(literal(tables.plan["project_name"]))
        plan_view.render_summary(tables)
        plan_view.render_tree(tables)
