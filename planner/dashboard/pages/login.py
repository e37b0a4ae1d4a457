"""The login page (see planner/dashboard/nav.py)."""

from planner.dashboard.login import render

render()
