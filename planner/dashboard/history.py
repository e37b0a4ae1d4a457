"""History: the user's generations, filtered and paged in the database."""

from __future__ import annotations

import math
from datetime import date

import streamlit as st

from planner import analysis
from planner.dashboard import nav, session, widgets
from planner.dashboard.resources import database

PAGE_SIZES = (25, 50, 100)


def render() -> None:
    user = session.require_user()
    st.title("History")
    options = analysis.history_options(database(), user.user_id)
    if not options["statuses"]:
        widgets.empty_state(
            "No generations yet. Start one on the Generate page: try the fault profile "
            "`drop-at-90` with the `resume` strategy to see a recovery.",
            go_to="generate",
        )
        return

    filters = _filters(options)
    total = analysis.history_count(database(), user.user_id, filters)
    size_column, page_column, info_column = st.columns([1, 1, 3], vertical_alignment="bottom")
    page_size = size_column.selectbox("Rows per page", PAGE_SIZES, index=1, key="history_size")
    pages = max(1, math.ceil(total / page_size))
    if st.session_state.get("history_page", 1) > pages:  # the filters shrank the list
        st.session_state["history_page"] = 1
    page_number = page_column.number_input(
        f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1, key="history_page"
    )
    if total == 0:
        info_column.caption("No generation matches these filters.")
        st.info("Nothing matches. Widen the filters above.", icon=":material/filter_alt_off:")
        return
    first = (page_number - 1) * page_size + 1
    info_column.caption(
        f"Showing {first:,}–{min(total, first + page_size - 1):,} of {total:,} generations. "
        "Select a row to open it."
    )
    frame = analysis.history_page(
        database(), user.user_id, filters, page=page_number, page_size=page_size
    )
    selection = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="history_table",
        height=min(38 + 35 * len(frame), 740),
        column_order=[
            "created_at",
            "title",
            "status",
            "strategy",
            "fault_spec",
            "tier",
            "attempts",
            "output_tokens",
            "wasted_output_tokens",
            "duration_s",
            "model",
        ],
        column_config={
            "created_at": st.column_config.DatetimeColumn(
                "started (UTC)", format="YYYY-MM-DD HH:mm:ss"
            ),
            "title": st.column_config.TextColumn("project / description", width="medium"),
            "fault_spec": st.column_config.TextColumn("fault profile"),
            "output_tokens": st.column_config.NumberColumn("output tokens", format="localized"),
            "wasted_output_tokens": st.column_config.NumberColumn(
                "wasted tokens", format="localized"
            ),
            "duration_s": st.column_config.NumberColumn("duration", format="%.1f s"),
        },
    )
    rows = selection.selection.rows if selection is not None else []
    if rows:
        chosen = frame.iloc[rows[0]]["id"]
        st.switch_page(nav.page("detail"), query_params={"id": str(chosen)})


def _filters(options: dict[str, list[str]]) -> analysis.HistoryFilter:
    status_column, strategy_column, fault_column, date_column = st.columns(4)
    statuses = status_column.multiselect("Status", options["statuses"], key="history_status")
    strategies = strategy_column.multiselect(
        "Strategy", options["strategies"], key="history_strategy"
    )
    faults = fault_column.multiselect("Fault profile", options["faults"], key="history_fault")
    dates = date_column.date_input(
        "Started between", value=(), key="history_dates", format="YYYY-MM-DD"
    )
    since, until = _date_range(dates)
    return analysis.HistoryFilter(
        statuses=tuple(statuses),
        strategies=tuple(strategies),
        faults=tuple(faults),
        since=since,
        until=until,
    )


def _date_range(dates: object) -> tuple[date | None, date | None]:
    if isinstance(dates, date):
        return dates, dates
    picked = [d for d in (dates or ()) if isinstance(d, date)]  # type: ignore[union-attr]
    if not picked:
        return None, None
    return picked[0], picked[-1]
