"""The experiments page (see planner/dashboard/nav.py)."""

from planner.dashboard.experiments import render

render()
