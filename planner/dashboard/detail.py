"""Generation detail: the plan tree, attempts, chunk timeline, events, downloads."""

from __future__ import annotations

import json
import uuid
from typing import Any

import streamlit as st

from planner import analysis
from planner.analysis.progress import NOISY_EVENTS
from planner.dashboard import actions, nav, plan_view, session, widgets
from planner.dashboard.resources import database
from planner.dashboard.text import literal
from planner.store import LIVE_STATUSES

EVENTS_SHOWN = 5000


def render() -> None:
    user = session.require_user()
    title = st.empty()  # filled first, so the title sits above the picker
    title.title("Generation detail")
    generation_id = _chosen_generation(user.user_id)
    if generation_id is None:
        return
    row = analysis.get_generation(database(), generation_id, user.user_id)
    if row is None:
        st.error("There is no generation with that id among yours.")
        st.page_link(nav.page("history"), label="Back to History", icon=":material/history:")
        return
    tables = (
        analysis.load_plan(database(), row["masterplan_id"], user.user_id)
        if row["masterplan_id"]
        else None
    )
    if tables is not None:
        title.title(literal(tables.plan["project_name"]))
    st.caption(literal(row["description"]))
    st.markdown(widgets.settings_line(row))
    st.caption(
        f"Strategy: {literal(analysis.describe_strategy(row['strategy']))}.  \n"
        f"Faults: {literal(analysis.describe_faults(row['fault_spec']))}."
    )
    _figures(row)
    actions.render(row, user.user_id)
    if row["error"]:
        st.error(f"**Error:** {literal(row['error'])}", icon=":material/error:")
    if row["status"] in LIVE_STATUSES:
        st.info(
            "This generation is still running: follow it live on the Generate page.",
            icon=":material/progress_activity:",
        )
        st.page_link(nav.page("generate"), label="Follow it live", icon=":material/play_circle:")
    plan_tab, timeline_tab, attempts_tab, events_tab, downloads_tab = st.tabs(
        ["Plan", "Chunk timeline", "Attempts", "Events", "Downloads"]
    )
    with plan_tab:
        if tables is None:
            st.info(
                "No plan was stored for this generation"
                + (" yet." if row["status"] in LIVE_STATUSES else " (it did not complete).")
            )
        else:
            plan_view.render_summary(tables)
            view = st.segmented_control(
                "View",
                ["Tree", "Table"],
                default="Tree",
                key="plan_view_mode",
                label_visibility="collapsed",
            )
            if view == "Table":
                plan_view.render_task_table(tables)
            else:
                plan_view.render_tree(tables)
    with timeline_tab:
        attempts = widgets.timeline(generation_id, key="detail_timeline", height=380)
    with attempts_tab:
        widgets.attempts_dataframe(attempts)
    with events_tab:
        _events(generation_id)
    with downloads_tab:
        _downloads(generation_id, tables)


def _chosen_generation(user_id: uuid.UUID) -> uuid.UUID | None:
    """The generation in `?id=…` (default: the newest), with a picker over recent ones."""
    recent = analysis.history_page(database(), user_id, page_size=25)
    current = st.query_params.get("id")
    if recent.empty and not current:
        widgets.empty_state(
            "No generations yet. Start one on the Generate page; its plan, timeline and "
            "events will be here.",
            go_to="generate",
        )
        return None
    labels = {str(r.id): widgets.generation_label(r, title_chars=60) for r in recent.itertuples()}
    if current and current not in labels:
        labels = {current: "the generation in the address", **labels}
    options = list(labels)
    choice = st.selectbox(
        "Generation (newest first; History has them all)",
        options,
        format_func=labels.get,
        index=options.index(current) if current in options else 0,
    )
    if choice != current:
        st.query_params["id"] = choice
    try:
        return uuid.UUID(choice)
    except ValueError:
        st.error(f"{literal(repr(choice))} is not a generation id.")
        return None


def _figures(row: dict[str, Any]) -> None:
    columns = [*st.columns(3), *st.columns(3)]  # two rows: readable at 900 px too
    duration = row["duration_s"]
    columns[0].metric("Duration", f"{duration:,.1f} s" if duration is not None else "—")
    columns[1].metric("Attempts", row["attempts"])
    columns[2].metric("Tier", row["tier"] or "—")
    columns[3].metric("Output tokens", f"{row['output_tokens']:,}")
    columns[4].metric("Wasted tokens", f"{row['wasted_output_tokens']:,}")
    columns[5].metric("Characters", f"{row['chars']:,}")


def _events(generation_id: uuid.UUID) -> None:
    show_all = st.toggle("Include progress and text events", key="events_all")
    frame = analysis.events_log(
        database(), generation_id, exclude=() if show_all else NOISY_EVENTS, limit=EVENTS_SHOWN
    )
    if frame.empty:
        st.caption("No events recorded.")
        return
    if len(frame) == EVENTS_SHOWN:
        st.caption(f"The first {EVENTS_SHOWN:,} events; the Downloads tab has the timeline.")
    payloads = dict(zip(frame["seq"], frame["payload"], strict=True))
    frame["payload"] = frame["payload"].map(lambda p: json.dumps(p, ensure_ascii=False))
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "seq": st.column_config.NumberColumn("#"),
            "name": st.column_config.TextColumn("event"),
            "created_at": st.column_config.DatetimeColumn("time (UTC)", format="HH:mm:ss.SSS"),
            "payload": st.column_config.TextColumn("payload", width="large"),
        },
    )
    with st.expander("One event in full"):
        names = dict(zip(frame["seq"], frame["name"], strict=True))
        seq = st.selectbox(
            "Event", list(payloads), format_func=lambda s: f"#{s} {names[s]}", key="event_full"
        )
        st.json(payloads[seq])


def _downloads(generation_id: uuid.UUID, tables: analysis.PlanTables | None) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown("**Plan JSON**: the validated MasterPlan as stored.")
        if tables is None:
            st.caption("No plan to download.")
        else:
            st.download_button(
                "Download plan JSON",
                data=json.dumps(tables.plan["plan_json"], indent=2, ensure_ascii=False),
                file_name=f"masterplan-{tables.plan['id']}.json",
                mime="application/json",
                icon=":material/download:",
                on_click="ignore",
            )
    with right:
        st.markdown("**Timeline CSV**: every chunk (seq, attempt, stage, offset, size, t_ms).")
        st.download_button(
            "Download timeline CSV",
            data=lambda: analysis.timeline_csv(database(), generation_id),
            file_name=f"timeline-{generation_id}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
        )
