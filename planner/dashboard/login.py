"""Log in / sign up: planner's own users, argon2id passwords, a JWT for the session.

Logins go through the `LoginThrottle` (per account and per client) and sign-ups through
the `SignupThrottle` (per client), both kept in the database every dashboard shares.
"""

from __future__ import annotations

import streamlit as st

from planner.auth import PASSWORD_MIN, AuthError, InvalidCredentials
from planner.config import get_settings
from planner.dashboard import session
from planner.dashboard.resources import database, login_throttle, signup_throttle
from planner.throttle import TooManyAttempts


def render() -> None:
    left, middle, right = st.columns([1, 1.4, 1])
    with middle:
        st.title("planner")
        st.caption(
            "Long LLM generations over unreliable networks: watch a MasterPlan stream, "
            "see every failure and recovery, study them afterwards."
        )
        notice = session.take_notice()
        if notice:
            st.info(notice, icon=":material/info:")
        if get_settings().signup_enabled:
            login_tab, signup_tab = st.tabs(["Log in", "Sign up"])
            with login_tab:
                _login_form()
            with signup_tab:
                _signup_form()
        else:
            _login_form()
            st.caption(
                "Sign-up is switched off here; ask an administrator for an account "
                "(`planner users add NAME`)."
            )


def _login_form() -> None:
    with st.form("login", border=True):
        username = st.text_input("Username", key="login_username", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="login_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Log in", type="primary", width="stretch")
    if not submitted:
        return
    if not username.strip() or not password:
        st.error("Enter your username and password.")
        return
    try:
        user = login_throttle().authenticate(
            database(), username.strip(), password, client=_client()
        )
    except (InvalidCredentials, TooManyAttempts) as exc:
        st.error(f"Could not log in: {exc}.")
        return
    session.log_in(user)
    st.rerun()


def _client() -> str:
    """Who is logging in, for the per-client limit: the address Streamlit saw.

    Behind a reverse proxy that is the proxy's address, and the per-client limit then
    applies to everyone behind it together.
    """
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "unknown"


def _signup_form() -> None:
    with st.form("signup", border=True):
        username = st.text_input(
            "Choose a username",
            key="signup_username",
            autocomplete="username",
            help="Letters, digits, '.', '_' and '-'; up to 64 characters.",
        )
        password = st.text_input(
            "Choose a password",
            type="password",
            key="signup_password",
            autocomplete="new-password",
            help=f"At least {PASSWORD_MIN} characters.",
        )
        repeated = st.text_input(
            "Repeat the password",
            type="password",
            key="signup_repeat",
            autocomplete="new-password",
        )
        submitted = st.form_submit_button("Create account", type="primary", width="stretch")
    if not submitted:
        return
    if password != repeated:
        st.error("The two passwords differ. Type the same password twice.")
        return
    try:
        user = signup_throttle().create_user(
            database(), username.strip(), password, client=_client()
        )
    except AuthError as exc:
        st.error(f"Could not create the account: {exc}.")
        return
    session.log_in(user)
    st.rerun()
