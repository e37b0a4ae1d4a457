"""The browser cookie that keeps a login across refreshes and tabs: HttpOnly, set by a route.

The cookie holds a refresh token (never an access token), so no script in the page may
read it. A Streamlit script run cannot answer an HTTP request (it runs over the
WebSocket, after the page's response went out), so it cannot send `Set-Cookie` itself;
page JavaScript (`document.cookie`) can set a cookie but never an HttpOnly one. What
Streamlit does allow is an ASGI app of its own with extra routes (`st.App(script,
routes=...)`, a public API since Streamlit 1.53; `streamlit run` serves it when the file
defines one: `planner/dashboard/asgi.py`). So:

1. the script run that logs in (or rotates the token) puts the token behind a one-time
   *ticket* (`ticket_script`): a random 256-bit value valid for 60 seconds;
2. a tiny script in the page POSTs the ticket to planner's route (`/_planner/cookie`);
3. the route redeems the ticket and answers with `Set-Cookie: planner_refresh=...;
   HttpOnly; SameSite=Strict; Path=/` (`Secure` on https) and the token's own lifetime,
   or deletes the cookie (logging out, a refused cookie).

A page script can read a ticket only while it is unused and for a minute at most, and
it buys one cookie write, never the token. A ticket used twice does nothing, so a stale
script Streamlit runs again (a re-mounted page) can never write an old token back over
a rotated one. A new session reads what the browser sent with its connection from
`st.context.cookies` (HttpOnly cookies are sent like any other); that mapping is frozen
for the session, so a cookie written or cleared now is seen by the next refresh or tab.
Under `AppTest` and plain `streamlit run app.py` there is no route: the cookie is then
simply not written (logins last as long as the tab).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

REFRESH_COOKIE = "planner_refresh"
ROUTE = "/_planner/cookie"
TICKET_TTL_S = 60.0
_HOLDER = "planner_cookie"
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class _Ticket:
    token: str  # "" clears the cookie
    expires_at: float  # the cookie's end (Unix seconds)
    valid_until: float  # the ticket's end (monotonic)


_tickets: dict[str, _Ticket] = {}
_tickets_lock = threading.Lock()


def browser_cookie() -> str | None:
    """The refresh cookie the browser sent when this session connected, if any."""
    value = st.context.cookies.get(REFRESH_COOKIE)
    if not isinstance(value, str) or not value.strip():  # AppTest's client is a stand-in
        return None
    return value.strip()


def issue_ticket(token: str, expires_at: float, *, now: float | None = None) -> str:
    """A one-time ticket that sets the cookie to `token` until `expires_at` ("" clears)."""
    if token and not _JWT.fullmatch(token):  # a JWT is cookie-safe; anything else must not
        raise ValueError("only a JWT can be stored in the refresh cookie")
    now = time.monotonic() if now is None else now
    ticket = secrets.token_urlsafe(32)
    with _tickets_lock:
        for stale in [t for t, held in _tickets.items() if held.valid_until <= now]:
            del _tickets[stale]
        _tickets[ticket] = _Ticket(token, expires_at, now + TICKET_TTL_S)
    return ticket


def redeem(ticket: object, *, secure: bool, now: float | None = None) -> Response:
    """The route's answer: the cookie set (or deleted) for a valid ticket, else 400."""
    now = time.monotonic() if now is None else now
    with _tickets_lock:
        held = _tickets.pop(ticket, None) if isinstance(ticket, str) else None
    if held is None or held.valid_until <= now:
        return Response("unknown or used ticket", status_code=400, media_type="text/plain")
    response = Response(status_code=204)
    if not held.token:
        response.delete_cookie(
            REFRESH_COOKIE, path="/", secure=secure, httponly=True, samesite="strict"
        )
        return response
    response.set_cookie(
        REFRESH_COOKIE,
        held.token,
        max_age=max(0, int(held.expires_at - time.time())),
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return response


async def _cookie_route(request: Request) -> Response:
    try:
        ticket = (await request.json()).get("ticket")
    except (ValueError, AttributeError):
        ticket = None
    return redeem(ticket, secure=request.url.scheme == "https")


def routes() -> list[Route]:
    """The routes `st.App` mounts beside Streamlit's own."""
    return [Route(ROUTE, _cookie_route, methods=["POST"])]


def ticket_script(ticket: str) -> str:
    """A script that hands `ticket` to the route (same ticket, same script: run once)."""
    body = json.dumps({"ticket": ticket})
    return (
        "<script>(() => {\n"
        f"fetch({json.dumps(ROUTE)}, {{method: 'POST', credentials: 'same-origin', "
        f"headers: {{'Content-Type': 'application/json'}}, body: {json.dumps(body)}}});\n"
        "})();</script>"
    )


def write(script: str) -> None:
    """Run a cookie script in the browser, in a hidden container that takes no space."""
    # Style-only HTML goes to Streamlit's event container and takes no space either.
    st.html(f"<style>.st-key-{_HOLDER}, div:has(> .st-key-{_HOLDER}) {{ display: none; }}</style>")
    with st.container(key=_HOLDER):
        st.html(script, unsafe_allow_javascript=True)
