"""Resume, Retry and Cancel on a generation's detail page, wherever it runs.

Resume continues an interrupted generation from its checkpoint (a job on PostgreSQL,
this server's service on DuckDB); Retry starts a new generation with a failed one's
request (description, strategy, faults, speed, seed, model, settings); Cancel stops a
queued or running one whichever process or machine runs it. Each is the library's own
call (`planner.jobs.control`, the generation service), so the dashboard, Socket.IO and
the CLI refuse the same things in the same words.
"""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from planner.dashboard import nav
from planner.dashboard.resources import database, service
from planner.dashboard.text import literal
from planner.errors import PlannerError
from planner.jobs import control
from planner.plan.request import GenerationRequest
from planner.plan.settings import GenerationSettings
from planner.store import LIVE_STATUSES


def _retry_request(row: dict[str, Any], user_id: uuid.UUID) -> GenerationRequest:
    return GenerationRequest(
        description=row["description"],
        user_id=user_id,
        strategy=row["strategy"],
        faults=row["fault_spec"],
        speed=row["speed"],
        model=row["model"],
        seed=row["seed"],
        settings=GenerationSettings.from_json(row.get("settings")) if row.get("settings") else None,
    )


def render(row: dict[str, Any], user_id: uuid.UUID) -> None:
    """The buttons that fit the generation's status, and what came of a click."""
    generation_id = row["id"]
    status = row["status"]
    try:
        if status == "interrupted" and st.button(
            "Resume",
            key="detail_resume",
            icon=":material/play_arrow:",
            help="Continue from the stored checkpoint: the plan is the one the "
            "uninterrupted run would have written.",
        ):
            control.resume_generation(database(), generation_id, user_id, service=service())
            st.success("Resuming: follow it live on the Generate page.")
            st.page_link(
                nav.page("generate"), label="Follow it live", icon=":material/play_circle:"
            )
        elif status == "failed" and st.button(
            "Retry",
            key="detail_retry",
            icon=":material/replay:",
            help="Start a new generation with the same request.",
        ):
            new_id = service().start(_retry_request(row, user_id))
            st.success(f"Started generation {literal(str(new_id))} with the same request.")
            st.page_link(
                nav.page("generate"), label="Follow it live", icon=":material/play_circle:"
            )
        elif status in LIVE_STATUSES and st.button(
            "Cancel",
            key="detail_cancel",
            icon=":material/stop_circle:",
            help="Stop it wherever it runs; it ends failed, cancelled.",
        ):
            if control.cancel_generation(database(), generation_id, user_id, service=service()):
                st.success("Cancel asked: the runner stops at its next write.")
            else:
                st.info("It had already ended.")
    except PlannerError as refused:
        st.error(literal(str(refused)), icon=":material/block:")
