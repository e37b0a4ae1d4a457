"""The detail page (see planner/dashboard/nav.py)."""

from planner.dashboard.detail import render

render()
