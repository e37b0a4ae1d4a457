"""The browser cookie that keeps a login across refreshes and tabs.

Streamlit has no server-side Set-Cookie for a running script: the page writes the cookie
with a tiny script through `st.html(..., unsafe_allow_javascript=True)` (documented, not
iframed, so it runs in the page's own document), and a new session reads what the
browser sent with its connection from `st.context.cookies`. That mapping is frozen for
the session: a cookie written or cleared now is seen by the next refresh or tab only.

The cookie holds a refresh token (never an access token): `Path=/`, `SameSite=Strict`,
`Secure` on https, and a lifetime equal to the token's own. JavaScript writes it, so it
cannot be `HttpOnly`.
"""

from __future__ import annotations

import json
import re

import streamlit as st

REFRESH_COOKIE = "planner_refresh"
_HOLDER = "planner_cookie"
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def browser_cookie() -> str | None:
    """The refresh cookie the browser sent when this session connected, if any."""
    value = st.context.cookies.get(REFRESH_COOKIE)
    if not isinstance(value, str) or not value.strip():  # AppTest's client is a stand-in
        return None
    return value.strip()


def set_script(token: str, expires_at: float) -> str:
    """A script that stores `token` until `expires_at` (Unix seconds).

    The lifetime is worked out in the browser from the absolute expiry, so the script is
    the same on every run and Streamlit does not execute it again.
    """
    if not _JWT.fullmatch(token):  # a JWT is cookie-safe; anything else must not get in
        raise ValueError("only a JWT can be stored in the refresh cookie")
    return _script(
        f"const maxAge = Math.max(0, Math.floor({int(expires_at)} - Date.now() / 1000));\n"
        f"document.cookie = {json.dumps(REFRESH_COOKIE + '=' + token)} + "
        '"; Path=/; Max-Age=" + maxAge + "; SameSite=Strict" + secure;'
    )


def clear_script() -> str:
    """A script that deletes the refresh cookie."""
    return _script(
        f"document.cookie = {json.dumps(REFRESH_COOKIE + '=')} + "
        '"; Path=/; Max-Age=0; SameSite=Strict" + secure;'
    )


def _script(body: str) -> str:
    return (
        "<script>(() => {\n"
        'const secure = window.location.protocol === "https:" ? "; Secure" : "";\n'
        f"{body}\n"
        "})();</script>"
    )


def write(script: str) -> None:
    """Run a cookie script in the browser, in a hidden container that takes no space."""
    # Style-only HTML goes to Streamlit's event container and takes no space either.
    st.html(f"<style>.st-key-{_HOLDER}, div:has(> .st-key-{_HOLDER}) {{ display: none; }}</style>")
    with st.container(key=_HOLDER):
        st.html(script, unsafe_allow_javascript=True)
