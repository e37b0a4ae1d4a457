"""What every run does around the page: schema, Socket.IO endpoint, sidebar."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from planner.config import get_settings
from planner.dashboard import session
from planner.dashboard.process import publish_generations
from planner.dashboard.resources import database, service
from planner.dashboard.session import SessionUser
from planner.dashboard.text import code, literal
from planner.errors import DatabaseError
from planner.realtime import RealtimeStartError, start_realtime_in_thread


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
        publish_generations()
        start_realtime_in_thread(db=db, service=service())
    except (ValueError, RealtimeStartError) as exc:  # ValueError: not a Redis URL
        return f"Socket.IO endpoint not running: {exc}"
    return None


def clear_sidebar() -> None:
    """Replace a previous user's sidebar as soon as a logged-out run starts.

    Streamlit keeps the elements of the previous run on screen until the new run ends;
    the login page's run takes a while (the cookie check), so without this the log-out
    screen showed the previous user's name and buttons. Writing the sidebar's first
    element (the container `sidebar` draws everything into) swaps it out at once.
    """
    st.sidebar.empty()


def sidebar(user: SessionUser, warning: str | None) -> None:
    settings = get_settings()
    # One container: the first element of the sidebar, which `clear_sidebar` replaces.
    with st.sidebar.container():
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
