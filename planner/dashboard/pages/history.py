"""The history page (see planner/dashboard/nav.py)."""

from planner.dashboard.history import render

render()
