"""Who is logged in: the access JWT in `st.session_state`, verified on every run.

The access token is the credential the page checks. Each script run verifies it again,
so a forged token, a deleted user or a changed secret sends the user back to the login
page with a message saying why, at the next click.

Logging in starts a server-side session (`planner.sessions`: a refresh-token family) and
stores its refresh token in a browser cookie (see `cookie`), so a refresh or a second tab
of the same browser, which is a new Streamlit session with an empty `st.session_state`,
rotates that token for a new one and lands where it was (the Generate page re-attaches to
the running generation). An access token that expires while the tab is open (they live
15 minutes) is renewed from the session's family id, kept server-side in
`st.session_state`, as long as the family is on: tabs never race over rotation. Logging
out ends the family, so every token of it is refused from then on, in this browser and
wherever a copy went; a password change or deleting the user ends all of the user's. A
refused cookie (expired, forged, replaced and shown again, its session ended) is cleared.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt
import streamlit as st

from planner.auth import AuthError, TokenClaims, TokenExpired, verify_access_token
from planner.dashboard import cookie
from planner.dashboard.resources import database
from planner.db import User
from planner.sessions import (
    SessionTokens,
    end_session,
    refresh_session,
    renew_access,
    start_session,
)

TOKEN_KEY = "planner_access_token"
NOTICE_KEY = "planner_login_notice"
# The refresh token this session keeps in the browser cookie; "" once the cookie must be
# cleared (logged out, refused). Absent: the session has not looked at the cookie yet.
REFRESH_KEY = "planner_refresh_token"
# (the refresh value, the script whose one-time ticket writes it into the cookie)
COOKIE_SCRIPT_KEY = "planner_cookie_script"
# The server-side session (refresh-token family) this Streamlit session belongs to.
FAMILY_KEY = "planner_session_family"


@dataclass(frozen=True)
class SessionUser:
    user_id: uuid.UUID
    username: str
    expires_at: datetime


def current_user() -> SessionUser | None:
    """The verified user of this browser session, or None (with a notice when refused)."""
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        return _resume()
    try:
        try:
            claims = verify_access_token(database(), token)
        except TokenExpired:
            family = st.session_state.get(FAMILY_KEY)
            if not family:
                raise
            st.session_state[TOKEN_KEY] = renew_access(database(), uuid.UUID(family))
            claims = verify_access_token(database(), st.session_state[TOKEN_KEY])
    except TokenExpired:
        _forget(notice="Your session expired. Log in again to continue.")
        return None
    except AuthError as exc:
        _forget(notice=f"You were logged out: {exc}.")
        return None
    return _session_user(claims)


def require_user() -> SessionUser:
    """The current user; pages call this first (app.py only shows them when logged in)."""
    user = current_user()
    if user is None:
        st.rerun()
    assert user is not None
    return user


def log_in(user: User) -> None:
    """Log `user` in for this session and, through the cookie, for this browser."""
    _hold(start_session(database(), user))
    st.session_state.pop(NOTICE_KEY, None)


def log_out() -> None:
    """End the server-side session (every token of it), then forget it here."""
    family = st.session_state.get(FAMILY_KEY)
    if family:
        end_session(database(), uuid.UUID(family))
    _forget(notice="You have logged out.")


def _hold(tokens: SessionTokens) -> None:
    st.session_state[TOKEN_KEY] = tokens.access_token
    st.session_state[FAMILY_KEY] = str(tokens.family_id)
    if tokens.refresh_token is not None:  # None: the browser's cookie is still the newest
        st.session_state[REFRESH_KEY] = tokens.refresh_token


def take_notice() -> str | None:
    """The message left for the login page (shown once)."""
    return st.session_state.pop(NOTICE_KEY, None)


def sync_browser_cookie() -> None:
    """Make the browser's refresh cookie match this session (app.py calls it every run).

    One ticket per value: every run shows the same script, which Streamlit runs once.
    """
    refresh = st.session_state.get(REFRESH_KEY)
    if refresh is None:
        return
    held = st.session_state.get(COOKIE_SCRIPT_KEY)
    if held is None or held[0] != refresh:
        expires_at = 0.0
        if refresh:  # verified when it got here; its expiry only sets the cookie's lifetime
            expires_at = float(jwt.decode(refresh, options={"verify_signature": False})["exp"])
        held = (refresh, cookie.ticket_script(cookie.issue_ticket(refresh, expires_at)))
        st.session_state[COOKIE_SCRIPT_KEY] = held
    cookie.write(held[1])


def _resume() -> SessionUser | None:
    """Log in from the browser's cookie: rotate its refresh token (a new session only)."""
    if st.session_state.get(REFRESH_KEY) is not None:  # logged out, or refused already
        return None
    refresh = cookie.browser_cookie()
    if not refresh:
        return None
    try:
        tokens = refresh_session(database(), refresh)
        claims = verify_access_token(database(), tokens.access_token)
    except TokenExpired:
        _forget(notice="Your saved login has expired. Log in again to continue.")
        return None
    except AuthError as exc:
        _forget(notice=f"Your saved login was refused ({exc}). Log in again.")
        return None
    _hold(tokens)
    return _session_user(claims)


def _session_user(claims: TokenClaims) -> SessionUser:
    return SessionUser(claims.user_id, claims.username, claims.expires_at)


def _forget(*, notice: str) -> None:
    """Drop the tokens and everything else this session remembered about the user.

    The browser's cookie is cleared too, and this session never reads it again (what
    `st.context.cookies` holds was sent when the session connected and is now stale).
    """
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[NOTICE_KEY] = notice
    st.session_state[REFRESH_KEY] = ""
