"""Streamlit entry point: thin, calls planner.* only."""

import streamlit as st

from planner.analysis import shared_connection
from planner.dashboard import nav, session, shell

st.set_page_config(page_title="planner", page_icon=":material/route:", layout="wide")
warning = shell.prepare()
user = session.current_user()
session.sync_browser_cookie()  # keeps a login across refreshes and tabs
page = nav.navigation(logged_in=user is not None)
if user is not None:
    shell.sidebar(user, warning)
with shared_connection():  # one database connection for all of the page's queries
    page.run()
