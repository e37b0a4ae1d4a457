"""The notebooks: kept without outputs, and executed top to bottom on a fresh PLANNER_HOME.

They run in a real Jupyter kernel (nbclient, kernel "python3": this interpreter, the
venv's ipykernel) with this checkout first on PYTHONPATH; a failing assert in any cell
fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from planner import analysis, auth
from planner.analysis.stats import StatsFilter, format_rate
from planner.db import Database
from planner.experiments import ExperimentConfig, run_experiment
from tests.conftest import REPO_ROOT
from tests.dashboard_helpers import statistics_page

NOTEBOOKS = REPO_ROOT / "notebooks"
NAMES = ("replay_generation.ipynb", "failure_modes.ipynb")


def _outputs_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts.append(data.get("text/plain", ""))
        parts.append(data.get("text/markdown", ""))
    return "\n".join(parts)


def _charts(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Static chart images (PNG or SVG): they render with no network."""
    return [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if {"image/png", "image/svg+xml"} & set(output.get("data", {}))
    ]


def _assert_offline(notebook: nbformat.NotebookNode) -> None:
    """No output loads anything: no Vega from a CDN, no script, no outside URL."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert not any("vegalite" in key or "javascript" in key for key in data), data.keys()
            html = data.get("text/html", "")
            assert "<script" not in html and "https://" not in html, html[:300]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: strip outputs before committing"
            assert cell.execution_count is None, f"{name}: strip execution counts"


def _execute(
    name: str, monkeypatch: pytest.MonkeyPatch, **parameters: object
) -> nbformat.NotebookNode:
    """Run a notebook, with `parameters` set after its parameters cell (papermill's way)."""
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    if parameters:
        first = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
        assert notebook.cells[first].source.startswith("# Parameters"), "no parameters cell"
        lines = "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
        notebook.cells.insert(first + 1, nbformat.v4.new_code_cell(lines))
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=240,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def test_replay_generation_notebook_runs(
    monkeypatch: pytest.MonkeyPatch, planner_home: Path
) -> None:
    notebook = _execute("replay_generation.ipynb", monkeypatch)
    text = "\n".join(_outputs_text(c) for c in notebook.cells if c.cell_type == "code")
    assert "recorded " in text and "studying " in text
    assert '"on_requests":[1]' in text.replace(" ", "")
    assert "recovery (attempt" in text
    assert len(_charts(notebook)) == 1, "the chunk timeline chart was not rendered"
    _assert_offline(notebook)
    assert "recording a generation in a temporary database" in text
    assert not (planner_home / "planner.duckdb").exists()  # the user's data folder untouched


def test_failure_modes_notebook_runs(monkeypatch: pytest.MonkeyPatch, planner_home: Path) -> None:
    # Far faster than real: the test checks the notebook's workings, not its timings.
    notebook = _execute("failure_modes.ipynb", monkeypatch, SPEED=1000.0)
    conclusion = _outputs_text(notebook.cells[-1])
    assert " won: " in conclusion, conclusion
    best = conclusion.split("Best contender per fault")[1]
    for fault in ("drop-at-90", "drop-twice", "overloaded"):
        assert f"- {fault}: **" in best and "(n=2, 95% interval " in best, conclusion
    assert len(_charts(notebook)) == 4
    _assert_offline(notebook)
    text = "\n".join(_outputs_text(c) for c in notebook.cells if c.cell_type == "code")
    assert "running the experiment in a temporary database" in text
    assert "95% CI" in text  # the rates as fault_success_rates / format_rate give them
    assert not (planner_home / "planner.duckdb").exists()


def test_notebooks_default_to_the_dashboards_data_and_never_create_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from planner.notebook import data_folder, scratch_database, user_database

    monkeypatch.delenv("PLANNER_HOME", raising=False)
    assert data_folder(NOTEBOOKS) == REPO_ROOT / ".planner"  # what `make run` uses
    monkeypatch.setenv("PLANNER_HOME", str(tmp_path / "home"))
    assert data_folder(NOTEBOOKS) == tmp_path / "home"
    assert user_database(NOTEBOOKS) is None
    assert not (tmp_path / "home").exists()
    scratch = scratch_database()
    assert scratch.current_revision() is not None
    assert str(tmp_path) not in scratch.url


def test_the_notebook_prints_the_rates_the_dashboard_and_the_cli_print(
    monkeypatch: pytest.MonkeyPatch, home_db: Database, invoke
) -> None:
    """On the same stored experiment (a dashboard user's), the notebook's success rates, the
    statistics page's and `planner stats`' are the library's, to the digit."""
    alice = auth.create_user(home_db, "alice", "correct horse battery")
    matrix = {"FAULTS": ["drop-at-90"], "STRATEGIES": ["none", "resume"], "CONTENDERS": ["sdk"]}
    config = ExperimentConfig(
        faults=tuple(matrix["FAULTS"]),
        strategies=(*matrix["STRATEGIES"], *matrix["CONTENDERS"]),
        repeats=2,
        speed=1000.0,
        name="failure_modes notebook",  # the name the notebook loads a stored experiment by
    )
    experiment = run_experiment(home_db, config, user_id=alice.id)
    rates = analysis.fault_success_rates(
        home_db, alice.id, StatsFilter(experiment_id=experiment.experiment_id)
    )
    expected = [format_rate(row) for row in rates.itertuples()]
    assert len(expected) == 6 and "0% (0/2, 95% CI 0–66%)" in expected

    notebook = _execute("failure_modes.ipynb", monkeypatch, USER="alice", **matrix)
    text = "\n".join(_outputs_text(c) for c in notebook.cells if c.cell_type == "code")
    assert f"loaded experiment {experiment.experiment_id} from the dashboard's data" in text
    cell = next(c for c in notebook.cells if c.source.startswith("owner = "))
    html = next(o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {}))
    assert re.findall(r"<td>([^<]*95% CI[^<]*)</td>", html) == expected

    printed = invoke("stats", "--user", "alice", "--experiment", str(experiment.experiment_id))
    assert printed.exit_code == 0, printed.stderr
    assert [next(e for e in expected if e in line) for line in printed.stdout.splitlines()] == (
        expected
    )
    _, shown = statistics_page(alice)
    assert shown["rate"].tolist() == expected
