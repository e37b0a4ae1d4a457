"""Pieces shared by the live view and the detail page."""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import streamlit as st

from planner import analysis
from planner.dashboard import charts, nav
from planner.dashboard.resources import database
from planner.dashboard.text import code, literal

STATUS_BADGE = {
    "queued": ("violet", ":material/schedule:"),
    "running": ("blue", ":material/progress_activity:"),
    "completed": ("green", ":material/check_circle:"),
    "failed": ("red", ":material/error:"),
    "interrupted": ("orange", ":material/pause_circle:"),
    "cancelled": ("gray", ":material/cancel:"),
}


def empty_state(message: str, *, go_to: str) -> None:
    """What a page shows while it has nothing to show: why, and a link to the page that
    makes some (`go_to`: a `nav.PAGES` key)."""
    st.info(message, icon=":material/hourglass_empty:")
    spec = nav.PAGES[go_to]
    st.page_link(nav.page(go_to), label=f"Go to {spec.title}", icon=spec.icon)


def cells_table(table: pd.DataFrame, notes: dict[str, tuple[str, str]]) -> None:
    """A strategy × fault table of text figures: the cell's two names stay in view while a
    narrow window scrolls the figures; `notes` gives columns a label and a help line."""
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "strategy": st.column_config.TextColumn("strategy", pinned=True),
            "fault": st.column_config.TextColumn("fault", pinned=True),
            **{
                name: st.column_config.TextColumn(label, help=note)
                for name, (label, note) in notes.items()
            },
        },
    )


def generation_label(row: Any, *, title_chars: int) -> str:
    """How a generation is named in a picker: when, how it ended, what ran, its title."""
    return (
        f"{row.created_at:%Y-%m-%d %H:%M} · {row.status} · {row.strategy}/{row.fault_spec} · "
        f"{row.title[:title_chars]}"
    )


def status_badge(status: str) -> str:
    colour, icon = STATUS_BADGE.get(status, ("gray", ":material/help:"))
    return f":{colour}-badge[{icon} {literal(status)}]"


def settings_line(row: dict[str, Any]) -> str:
    """strategy · faults · model · speed, as badges and code."""
    return (
        f"{status_badge(row['status'])} strategy {code(row['strategy'])} · faults "
        f"{code(row['fault_spec'])} · model {code(row['model'])} · speed ×{row['speed']:g} · "
        f"seed {row['seed']}"
    )


def timeline(generation_id: uuid.UUID, *, key: str, height: int = 320) -> pd.DataFrame:
    """The chunk timeline chart with fault markers; returns the attempts table it used."""
    frame = analysis.chunk_timeline(database(), generation_id)
    attempts = analysis.attempts_table(database(), generation_id)
    if frame.empty:
        st.caption("No chunks recorded yet.")
        return attempts
    markers = analysis.fault_markers(attempts)
    st.altair_chart(charts.chunk_timeline(frame, markers, height=height), key=key, width="stretch")
    if not markers.empty:
        faults = ", ".join(
            f"attempt {m.attempt}: {literal(m.error_type)} at char {m.chars_end:,} ({m.t_s:.1f} s)"
            for m in markers.itertuples()
        )
        st.caption(f"✕ marks where a fault hit — {faults}")
    return attempts


def recovery_message(row: Any, *, short: bool = False) -> str:
    """A `masterplan_recovery` event in words; its `attempt` is the one that failed."""
    failed = int(row.attempt)
    kind, detail = analysis.split_reason(row.reason)
    kind, tier = literal(kind), literal(row.tier)
    if short:
        return f"Attempt {failed} failed ({kind}). Recovering with {tier}."
    where = f" from character {int(row.resume_from_char):,}" if row.tier == "resume" else ""
    said = f"  \n:small[The failure said: {literal(detail)}]" if detail else ""
    return (
        f"Attempt {failed} failed ({kind}). Recovering with **{tier}** as attempt "
        f"{failed + 1}{where}.{said}"
    )


TEXT_COLUMNS = ("stop_reason", "error_type", "error_message", "request_id")


def attempts_dataframe(attempts: pd.DataFrame) -> None:
    """Every attempt with its own tier and why it happened; failures in full below."""
    table = analysis.explain_attempts(attempts)
    for column in TEXT_COLUMNS:  # a missing value is blank, never the word "None"
        table[column] = table[column].astype(object).where(table[column].notna(), "")
    table["thinking_tokens"] = table["thinking_tokens"].map(
        lambda v: "unknown" if pd.isna(v) else f"{int(v):,}"
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_order=[
            "number",
            "stage",
            "tier",
            "why",
            "start_s",
            "duration_s",
            "resume_from_char",
            "chars",
            "output_tokens",
            "thinking_tokens",
            "stop_reason",
            "error_type",
            "request_id",
        ],
        column_config={
            "number": st.column_config.NumberColumn("#"),
            "stage": st.column_config.TextColumn("stage"),
            "tier": st.column_config.TextColumn("tier", help="the tier this attempt ran as"),
            "why": st.column_config.TextColumn("why", width="large"),
            "stop_reason": st.column_config.TextColumn("stop reason"),
            "error_type": st.column_config.TextColumn("failure"),
            "request_id": st.column_config.TextColumn("request id"),
            "start_s": st.column_config.NumberColumn("start", format="%.2f s"),
            "end_s": st.column_config.NumberColumn("end", format="%.2f s"),
            "duration_s": st.column_config.NumberColumn("duration", format="%.2f s"),
            "resume_from_char": st.column_config.NumberColumn("resumed from", format="localized"),
            "chars": st.column_config.NumberColumn("chars", format="localized"),
            "output_tokens": st.column_config.NumberColumn("output tokens", format="localized"),
            "thinking_tokens": st.column_config.TextColumn(
                "of which thinking",
                help="unknown: the thinking was omitted and the attempt died before the "
                "server said how much",
            ),
        },
    )
    for attempt in table[table["error_type"] != ""].itertuples():
        with st.expander(f"Attempt {attempt.number}: {literal(attempt.error_type)} (in full)"):
            st.text(attempt.why)
            st.code(attempt.error_message or "no message", language=None, wrap_lines=True)
