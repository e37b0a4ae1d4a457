"""Helpers of the dashboard's AppTest checks: a page opened as a logged-in user."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from planner import auth
from planner.dashboard.session import TOKEN_KEY


def statistics_page(user: auth.User) -> tuple[AppTest, pd.DataFrame]:
    """The Fallback statistics page run for `user`, and its success-rate table."""
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.session_state[TOKEN_KEY] = auth.issue_access_token(user)
    at.switch_page("planner/dashboard/pages/statistics.py").run()
    assert not at.exception, at.exception
    return at, next(d.value for d in at.dataframe if "rate" in d.value.columns)
