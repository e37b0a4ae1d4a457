"""The dashboard as an ASGI app: Streamlit's own, plus planner's cookie route.

`streamlit run planner/dashboard/asgi.py` finds `app` and serves the dashboard script
(app.py) with the route that sets the HttpOnly refresh cookie (`cookie`), and the
process's own start and stop (`process`: the Socket.IO endpoint from the start, and the
hand-off of its generations when it is stopped). Plain `streamlit run app.py` still
works, without a saved login across refreshes and without the hand-off.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st

from planner.dashboard import cookie, process

SCRIPT = Path(__file__).resolve().parent / "app.py"


@asynccontextmanager
async def lifespan(_: st.App) -> AsyncIterator[None]:
    # Before the first answer (the health check answers once the database is migrated),
    # on a thread so the loop stays free; not in the background: the first page's script
    # would import planner's modules beside it, and two threads importing them at once
    # can each find the other's half-imported.
    await asyncio.to_thread(process.start)
    yield
    await asyncio.to_thread(process.stop)


app = st.App(str(SCRIPT), routes=cookie.routes(), lifespan=lifespan)
