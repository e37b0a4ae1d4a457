"""Streamlit entry point: thin, calls planner.* only."""

import streamlit as st

from planner.db import ensure_schema

st.set_page_config(page_title="planner", layout="wide")
ensure_schema()
st.title("planner")
st.info("The dashboard is being built (issue 7). Use the `planner` command meanwhile.")
