"""planner installs like any Python tool: the wheel carries what the commands need.

A wheel built from the project once held no migrations, so `pip install .` then
`planner db upgrade` could not work, and the standard Alembic CLI failed for want of an
`alembic.ini`. Here the wheel is built from a copy of the checkout (no stale `build/`),
installed without its dependencies into a new venv that borrows the third-party packages of
the dev venv (installing them all again would take minutes), and run from a directory
outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

_NOT_SHIPPED = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "test-artifacts", ".planner", "__pycache__", ".*cache"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin folder of a new venv holding planner from its wheel and nothing else of its own."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO_ROOT, source, ignore=_NOT_SHIPPED)
    wheels = root / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)]
    subprocess.run(build, check=True, cwd=root, timeout=120)
    (wheel,) = wheels.glob("planner-*.whl")

    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # A path line, not an `import` line: the dev venv's editable planner (a .pth hook) stays out.
    Path(target, "dev-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = [*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index"]
    subprocess.run([*install, str(wheel)], check=True, cwd=root, timeout=120)
    yield venv / "bin"


def _run(bin_dir: Path, cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANNER_", "PYTHON"))}
    env["PLANNER_HOME"] = str(cwd / "data")
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def test_the_installed_planner_is_the_wheel_not_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    where = _run(installed, tmp_path, "python", "-c", "import planner; print(planner.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)


def test_db_upgrade_works_from_an_installed_wheel_in_any_directory(
    installed: Path, tmp_path: Path
) -> None:
    upgraded = _run(installed, tmp_path, "planner", "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "data" / "planner.duckdb").exists()


def test_the_standard_alembic_cli_works_from_the_repository_root(tmp_path: Path) -> None:
    alembic = Path(sys.executable).parent / "alembic"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNER_")}
    env["PLANNER_HOME"] = str(tmp_path / "data")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(alembic), *args], capture_output=True, text=True, cwd=REPO_ROOT, env=env
        )

    upgraded = run("upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    checked = run("check")
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    current = run("current")
    assert "(head)" in current.stdout
