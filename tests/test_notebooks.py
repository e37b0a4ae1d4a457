"""The notebooks: kept without outputs, and executed top to bottom on a fresh PLANNER_HOME.

They run in a real Jupyter kernel (nbclient, kernel "python3": this interpreter, the
venv's ipykernel) with this checkout first on PYTHONPATH; a failing assert in any cell
fails the test.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO_ROOT

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
    """Altair outputs: a Vega-Lite bundle, or the HTML that embeds one."""
    return [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if any("vegalite" in key for key in output.get("data", {}))
        or "vegaEmbed" in output.get("data", {}).get("text/html", "")
    ]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: strip outputs before committing"
            assert cell.execution_count is None, f"{name}: strip execution counts"


def _execute(name: str, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
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
    assert (planner_home / "planner.duckdb").exists()


def test_failure_modes_notebook_runs(monkeypatch: pytest.MonkeyPatch, planner_home: Path) -> None:
    notebook = _execute("failure_modes.ipynb", monkeypatch)
    conclusion = _outputs_text(notebook.cells[-1])
    assert " won: " in conclusion, conclusion
    best = conclusion.split("Best contender per fault")[1]
    for fault in ("drop-at-90", "drop-twice", "overloaded"):
        assert f"- {fault}: **" in best and "(n=2, 95% interval " in best, conclusion
    assert len(_charts(notebook)) == 4
