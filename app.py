"""Streamlit entry point: thin, calls planner.* only."""

import streamlit as st

st.set_page_config(page_title="planner", layout="wide")
st.title("planner")
st.info("The dashboard is being built (issue 7). Use the `planner` command meanwhile.")
