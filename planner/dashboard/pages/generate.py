"""The generate page (see planner/dashboard/nav.py)."""

from planner.dashboard.generate import render

render()
