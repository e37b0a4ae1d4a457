"""The compare page (see planner/dashboard/nav.py)."""

from planner.dashboard.compare import render

render()
