"""The dashboard's Streamlit script, inside the package so an installed wheel can run it.

`planner dashboard` runs this file with Streamlit (`streamlit run <this file>`); `app.py`
at the repository root only calls `main()`, for `streamlit run app.py` from a checkout.
Streamlit executes the script as `__main__` on every rerun, hence the guard at the end.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from planner.dashboard import nav, session, shell
from planner.dashboard.resources import database

# Served by this server: an icon named by Material or emoji is fetched from a CDN.
FAVICON = Path(__file__).resolve().parent / "favicon.png"


def main() -> None:
    st.set_page_config(page_title="planner", page_icon=str(FAVICON), layout="wide")
    warning = shell.prepare()
    user = session.current_user()
    session.sync_browser_cookie()  # keeps a login across refreshes and tabs
    page = nav.navigation(logged_in=user is not None)
    if user is not None:
        shell.sidebar(user, warning)
    with database().held():  # the DuckDB file stays open across all of the page's queries
        page.run()


if __name__ == "__main__":
    main()
