"""Who is logged in: the access JWT in `st.session_state`, verified on every run.

The token is the only credential the page keeps. Each script run verifies it again, so
an expired token, a deleted user or a changed secret sends the user back to the login
page with a message saying why, at the next click.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import streamlit as st

from planner.auth import AuthError, TokenExpired, issue_access_token, verify_access_token
from planner.db import User

TOKEN_KEY = "planner_access_token"
NOTICE_KEY = "planner_login_notice"


@dataclass(frozen=True)
class SessionUser:
    user_id: uuid.UUID
    username: str
    expires_at: datetime


def current_user() -> SessionUser | None:
    """The verified user of this browser session, or None (with a notice when refused)."""
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        return None
    try:
        claims = verify_access_token(token)
    except TokenExpired:
        _forget(notice="Your session expired. Log in again to continue.")
        return None
    except AuthError as exc:
        _forget(notice=f"You were logged out: {exc}.")
        return None
    return SessionUser(claims.user_id, claims.username, claims.expires_at)


def require_user() -> SessionUser:
    """The current user; pages call this first (app.py only shows them when logged in)."""
    user = current_user()
    if user is None:
        st.rerun()
    assert user is not None
    return user


def log_in(user: User) -> None:
    st.session_state[TOKEN_KEY] = issue_access_token(user)
    st.session_state.pop(NOTICE_KEY, None)


def log_out() -> None:
    _forget(notice="You have logged out.")


def take_notice() -> str | None:
    """The message left for the login page (shown once)."""
    return st.session_state.pop(NOTICE_KEY, None)


def _forget(*, notice: str) -> None:
    """Drop the token and everything else this session remembered about the user."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[NOTICE_KEY] = notice
