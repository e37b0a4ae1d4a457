"""Who is logged in: the access JWT in `st.session_state`, verified on every run.

The access token is the credential the page checks. Each script run verifies it again,
so a forged token, a deleted user or a changed secret sends the user back to the login
page with a message saying why, at the next click.

Logging in also stores a refresh token in a browser cookie (see `cookie`), so a refresh
or a second tab of the same browser, which is a new Streamlit session with an empty
`st.session_state`, gets a fresh access token from it and lands where it was (the
Generate page re-attaches to the running generation). The same refresh token renews an
access token that expires while the tab is open. A refused cookie (expired, forged, its
user deleted) and logging out clear it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt
import streamlit as st

from planner.auth import (
    AuthError,
    TokenClaims,
    TokenExpired,
    TokenUserGone,
    get_user,
    issue_access_token,
    issue_refresh_token,
    verify_access_token,
    verify_refresh_token,
)
from planner.dashboard import cookie
from planner.dashboard.resources import database
from planner.db import User

TOKEN_KEY = "planner_access_token"
NOTICE_KEY = "planner_login_notice"
# The refresh token this session keeps in the browser cookie; "" once the cookie must be
# cleared (logged out, refused). Absent: the session has not looked at the cookie yet.
REFRESH_KEY = "planner_refresh_token"


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
        claims = verify_access_token(database(), token)
    except TokenExpired:
        if st.session_state.get(REFRESH_KEY):
            del st.session_state[TOKEN_KEY]
            return _resume()
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
    st.session_state[TOKEN_KEY] = issue_access_token(user)
    st.session_state[REFRESH_KEY] = issue_refresh_token(user)
    st.session_state.pop(NOTICE_KEY, None)


def log_out() -> None:
    _forget(notice="You have logged out.")


def take_notice() -> str | None:
    """The message left for the login page (shown once)."""
    return st.session_state.pop(NOTICE_KEY, None)


def access_token_from_refresh(refresh_token: str) -> tuple[str, TokenClaims]:
    """A new access token for the user of a valid refresh token, else an AuthError."""
    claims = verify_refresh_token(database(), refresh_token)
    user = get_user(database(), claims.username)
    if user.id != claims.user_id:  # the name now belongs to someone else
        raise TokenUserGone("the token's user no longer exists")
    return issue_access_token(user), claims


def sync_browser_cookie() -> None:
    """Make the browser's refresh cookie match this session (app.py calls it every run)."""
    refresh = st.session_state.get(REFRESH_KEY)
    if refresh is None:
        return
    if refresh:
        # Verified when it got here; its expiry only sets the cookie's lifetime.
        expires_at = jwt.decode(refresh, options={"verify_signature": False})["exp"]
        cookie.write(cookie.set_script(refresh, float(expires_at)))
    else:
        cookie.write(cookie.clear_script())


def _resume() -> SessionUser | None:
    """Log in from the refresh token this session holds, else from the browser's cookie."""
    refresh = st.session_state.get(REFRESH_KEY)
    if refresh is None:  # a new session: the browser may remember a login
        refresh = cookie.browser_cookie()
    if not refresh:
        return None
    try:
        access, _ = access_token_from_refresh(refresh)
        claims = verify_access_token(database(), access)
    except TokenExpired:
        _forget(notice="Your saved login has expired. Log in again to continue.")
        return None
    except AuthError as exc:
        _forget(notice=f"Your saved login was refused ({exc}). Log in again.")
        return None
    st.session_state[TOKEN_KEY] = access
    st.session_state[REFRESH_KEY] = refresh
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
