"""The client knows nothing of the simulator, the settings, the database or any front end:
importing it loads none of them (DESIGN.md, layering)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

FORBIDDEN = (
    "planner.config",
    "planner.sim",
    "planner.db",
    "planner.plan",
    "planner.realtime",
    "planner.dashboard",
    "planner.cli",
    "planner.store",
)


def planner_modules_loaded_by(code: str) -> list[str]:
    """The planner modules a fresh interpreter has loaded after running `code`."""
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import sys
        print("\\n".join(sorted(name for name in sys.modules if name.startswith("planner"))))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return run.stdout.split()


def forbidden_among(modules: list[str]) -> list[str]:
    return [
        name
        for name in modules
        if any(name == layer or name.startswith(layer + ".") for layer in FORBIDDEN)
    ]


def test_importing_the_client_loads_no_simulator_settings_database_or_front_end() -> None:
    modules = planner_modules_loaded_by("import planner.llm")
    assert "planner.llm.client" in modules, "the check looked at a real import"
    assert forbidden_among(modules) == []
