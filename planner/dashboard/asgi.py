"""The dashboard as an ASGI app: Streamlit's own, plus planner's cookie route.

`streamlit run planner/dashboard/asgi.py` finds `app` and serves the dashboard script
(app.py) with the route that sets the HttpOnly refresh cookie (`cookie`). Plain
`streamlit run app.py` still works, without a saved login across refreshes.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from planner.dashboard import cookie

SCRIPT = Path(__file__).resolve().parent / "app.py"

app = st.App(str(SCRIPT), routes=cookie.routes())
