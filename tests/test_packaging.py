"""planner installs like any Python tool: the wheel carries what the commands need.

A wheel built from the project once held no migrations, so `pip install .` then
`planner db upgrade` could not work, and the standard Alembic CLI failed for want of an
`alembic.ini`. Here the wheel is built from a copy of the checkout (no stale `build/`),
installed without its dependencies into a new venv that borrows the third-party packages of
the dev venv (installing them all again would take minutes), and run from a directory
outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
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


def _env(cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANNER_", "PYTHON"))}
    env["PLANNER_HOME"] = str(cwd / "data")
    env["PLANNER_SOCKETIO_PORT"] = "0"
    return env


def _run(bin_dir: Path, cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_env(cwd),
        timeout=timeout,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses (hex, as the kernel writes them) listening on `port` (Linux)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


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


def test_the_wheel_carries_the_pages_theme_favicon_and_migrations(installed: Path) -> None:
    (wheel,) = (installed.parent.parent / "wheels").glob("planner-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "planner/dashboard/app.py",
        "planner/dashboard/asgi.py",  # the ASGI app with the HttpOnly cookie route
        "planner/dashboard/pages/generate.py",
        "planner/dashboard/.streamlit/config.toml",
        "planner/dashboard/favicon.png",
        "planner/db/migrations/env.py",
    ):
        assert needed in names


def test_generate_works_from_an_installed_wheel(installed: Path, tmp_path: Path) -> None:
    made = _run(installed, tmp_path, "planner", "generate", "a tiny CLI", "--speed", "0", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["status"] == "completed"


def test_db_current_check_and_downgrade_from_an_installed_wheel(
    installed: Path, tmp_path: Path
) -> None:
    assert _run(installed, tmp_path, "planner", "db", "upgrade").returncode == 0
    current = _run(installed, tmp_path, "planner", "db", "current")
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip().endswith("(head)")
    checked = _run(installed, tmp_path, "planner", "db", "check")
    assert checked.returncode == 0, checked.stderr
    down = _run(installed, tmp_path, "planner", "db", "downgrade", "base")
    assert down.returncode == 0, down.stderr
    assert "none (empty database" in _run(installed, tmp_path, "planner", "db", "current").stdout
    refused = _run(installed, tmp_path, "planner", "db", "check")
    assert refused.returncode == 4
    assert "run `planner db upgrade`" in refused.stderr
    assert "Traceback" not in refused.stderr
    unknown = _run(installed, tmp_path, "planner", "db", "downgrade", "nonsense")
    assert unknown.returncode == 2
    assert "cannot downgrade to 'nonsense'" in unknown.stderr


def test_planner_dashboard_answers_http_on_loopback_only_from_an_installed_wheel(
    installed: Path, tmp_path: Path
) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [str(installed / "planner"), "dashboard", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        health = None
        while health is None and server.poll() is None and time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/_stcore/health"
                with urllib.request.urlopen(url, timeout=5) as answer:
                    health = answer.read().decode()
            # TimeoutError: it accepts connections before it is ready (its start, which
            # migrates the database, runs before the first answer)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)  # polling for a condition with a deadline, not a timing
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        assert health == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert "<html" in page.read().decode().lower()
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
    finally:
        server.terminate()
        server.wait(timeout=30)
