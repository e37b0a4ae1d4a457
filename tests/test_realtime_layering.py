"""The core runs generations without a front end: importing all of it loads none.

DESIGN.md's layering: the core (llm, plan, store, db, events, jobs) imports no front end
(realtime, dashboard, cli); a front end attaches itself, as the CLI, the dashboard and
`planner serve` attach the Redis publisher of planner.realtime to their bus. A fresh
interpreter imports every core module and reports which planner modules it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT, cli_env

CORE = (
    "planner.llm",
    "planner.plan",
    "planner.db",
    "planner.events",
    "planner.store",
    "planner.jobs",
)
FRONT_ENDS = ("planner.realtime", "planner.dashboard", "planner.cli", "app")

PROBE = """
import importlib, importlib.util, json, pkgutil, sys

imported = []
for name in {core!r}:
    if importlib.util.find_spec(name) is None:  # a part of the core not built yet
        continue
    package = importlib.import_module(name)
    imported.append(name)
    for module in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
        importlib.import_module(module.name)
        imported.append(module.name)
print(json.dumps({{"imported": imported, "loaded": sorted(sys.modules)}}))
"""


def test_importing_the_whole_core_loads_no_front_end() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(core=CORE)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=REPO_ROOT,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout)

    assert {"planner.plan.runner", "planner.plan.service", "planner.llm.client"} <= set(
        report["imported"]
    ), "the probe reached the code that runs generations"
    front_ends = [
        name
        for name in report["loaded"]
        if any(name == front or name.startswith(front + ".") for front in FRONT_ENDS)
    ]
    assert front_ends == []
