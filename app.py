"""Streamlit entry point: thin, calls planner.* only."""

import streamlit as st

from planner.dashboard import nav, session, shell
from planner.dashboard.resources import database

st.set_page_config(page_title="planner", page_icon=":material/route:", layout="wide")
warning = shell.prepare()
user = session.current_user()
session.sync_browser_cookie()  # keeps a login across refreshes and tabs
page = nav.navigation(logged_in=user is not None)
if user is not None:
    shell.sidebar(user, warning)
with database().held():  # the DuckDB file stays open across all of the page's queries
    page.run()
