"""Streamlit entry point of a checkout (`streamlit run app.py`): the app lives in the package.

`planner dashboard` runs planner/dashboard/app.py itself; this shim keeps the old command.
"""

from planner.dashboard.app import main

main()
