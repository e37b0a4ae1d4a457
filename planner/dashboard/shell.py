"""What every run does around the page: schema, Socket.IO endpoint, sidebar."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from planner.config import get_settings
from planner.dashboard import session
from planner.dashboard.resources import database, service
from planner.dashboard.session import SessionUser
from planner.dashboard.text import code, literal
from planner.errors import DatabaseError
from planner.realtime import RealtimeStartError, attach_publisher, start_realtime_in_thread


@st.cache_resource
def _publish_generations() -> None:
    """With PLANNER_REDIS_URL, this process's generations reach every Socket.IO node."""
    attach_publisher()


def prepare() -> str | None:
    """Migrate the database, publish generations, host the Socket.IO endpoint (once each).

    Returns a warning for the sidebar when the endpoint cannot start: the dashboard
    itself still works without it. Without a database it stops with a message saying
    which database and why.
    """
    db = database()
    try:
        db.ensure_schema()
        service().store.prepare()  # generations of dead processes: `interrupted`, once
    except (DatabaseError, SQLAlchemyError) as exc:
        st.error(
            f"planner cannot use its database {code(db.safe_url)}: {literal(exc)}",
            icon=":material/error:",
        )
        st.stop()
    try:
        _publish_generations()
        start_realtime_in_thread(db=db, service=service())
    except (ValueError, RealtimeStartError) as exc:  # ValueError: not a Redis URL
        return f"Socket.IO endpoint not running: {exc}"
    return None


def sidebar(user: SessionUser, warning: str | None) -> None:
    settings = get_settings()
    with st.sidebar:
        st.markdown(f"Signed in as **{literal(user.username)}**")
        if st.button("Log out", icon=":material/logout:", key="logout"):
            session.log_out()
            st.rerun()
        st.divider()
        endpoint = (
            "embedded simulator"
            if settings.uses_embedded_simulator
            else settings.anthropic_base_url or "Anthropic API"
        )
        st.caption(f"Model endpoint: {literal(endpoint)}  \nModel: {code(settings.model)}")
        if settings.socketio_port:
            st.caption(f"Socket.IO: port {settings.socketio_port}")
        if warning:
            st.warning(literal(warning), icon=":material/warning:")
