"""The statistics page (see planner/dashboard/nav.py)."""

from planner.dashboard.stats import render

render()
