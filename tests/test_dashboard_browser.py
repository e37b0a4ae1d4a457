"""The dashboard in a real browser: Debian's Chromium driven by Playwright against
`streamlit run planner/dashboard/asgi.py` (the dashboard with its cookie route) with a
temporary PLANNER_HOME.

Sign up, start a `drop-at-90` generation with `resume` at high simulator speed, watch the
progress and the recovery notice (a second tab and a refresh stay logged in through the
refresh cookie and re-attach), end on the completed plan; logging out clears the cookie;
then a second user sees none of it. Screenshots go to test-artifacts/ (kept by CI,
ignored by git).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.conftest import REPO_ROOT, cli_env, skip_or_fail

pytestmark = pytest.mark.browser

ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"
DESCRIPTION = (
    "An online ordering system for a small bakery: customers order cakes for pickup, "
    "staff manage the daily production list, the owner sees weekly sales."
)
SLOW_MS = 120_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(
    url: str, process: subprocess.Popen, log_path: Path, timeout_s: float = 90
) -> None:
    """Poll the dashboard's health endpoint until it answers (a condition, with a deadline);
    fail with the end of its log if the process exits or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        skip_or_fail("Debian's chromium is not installed (make test installs it)")
    return path


@pytest.fixture
def socketio_port() -> int:
    return free_port()


@pytest.fixture
def dashboard(planner_home: Path, socketio_port: int) -> Iterator[str]:
    """The dashboard (`streamlit run planner/dashboard/asgi.py`) on a free port, its
    Socket.IO endpoint on another."""
    port = free_port()
    env = cli_env(PLANNER_HOME=str(planner_home), PLANNER_SOCKETIO_PORT=str(socketio_port))
    log_path = planner_home.parent / "streamlit.log"
    planner_home.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "planner/dashboard/asgi.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        if os.environ.get("PLANNER_SHOW_STREAMLIT_LOG"):
            print(log_path.read_text())


def sign_up(page, username: str) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Sign up").click()
    page.get_by_label("Choose a username", exact=True).fill(username)
    page.get_by_label("Choose a password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Generate a MasterPlan").wait_for(timeout=SLOW_MS)


def settled(page) -> None:  # noqa: ANN001
    """Wait until Streamlit finished the script run and drew every element (its script
    state, as Streamlit's own browser tests wait, and no loading skeleton left)."""
    page.wait_for_function(
        "document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')"
    )


def log_in(page, username: str) -> None:  # noqa: ANN001
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def refresh_cookie(context) -> dict | None:  # noqa: ANN001
    return next((c for c in context.cookies() if c["name"] == "planner_refresh"), None)


def wait_for_cookie(context, present: bool) -> dict | None:  # noqa: ANN001
    """The page writes the cookie with a script after its run: wait until it did."""
    deadline = time.monotonic() + 30
    while (refresh_cookie(context) is not None) != present:
        assert time.monotonic() < deadline, f"the refresh cookie is not {present=}"
        time.sleep(0.1)
    return refresh_cookie(context)


def signed_in_as(page) -> str | None:  # noqa: ANN001
    """The sidebar's user name once the page has drawn, None on the login page."""
    sidebar = page.get_by_text(re.compile(r"^Signed in as "))
    login = page.get_by_role("tab", name="Log in")
    sidebar.or_(login).first.wait_for()
    return sidebar.inner_text().removeprefix("Signed in as ").strip() if sidebar.count() else None


def choose(page, label: str, option: str) -> None:  # noqa: ANN001
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def open_page(page, title: str) -> None:  # noqa: ANN001
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


def test_generation_live_in_the_browser_and_private_to_its_user(
    dashboard: str, socketio_port: int
) -> None:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed (dev extras)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1500})
            context.set_default_timeout(SLOW_MS)
            page = context.new_page()
            page.goto(dashboard)
            sign_up(page, "alice")
            cookie = wait_for_cookie(context, present=True)
            assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
            assert cookie["httpOnly"], "no script in the page can read the refresh token"
            assert "planner_refresh" not in page.evaluate("document.cookie")
            assert cookie["expires"] > time.time() + 29 * 86400  # the refresh token's 30 days
            # The dashboard process hosts the Socket.IO endpoint too (Engine.IO handshake).
            handshake = urllib.request.urlopen(
                f"http://127.0.0.1:{socketio_port}/socket.io/?EIO=4&transport=polling", timeout=10
            ).read()
            assert handshake.startswith(b"0{") and b'"sid"' in handshake

            page.get_by_label("Project description", exact=True).fill(DESCRIPTION)
            choose(page, "Fault profile", "drop-at-90")
            speed = page.get_by_label("Simulator speed", exact=True)
            speed.fill("8")
            speed.press("Enter")
            page.get_by_role("button", name="Start generation").click()

            # Live: a progress bar, then the recovery announced while it streams.
            page.get_by_test_id("stProgress").wait_for()

            # A second tab is a new session: the cookie logs it in and it re-attaches.
            second = context.new_page()
            second.goto(dashboard)
            assert signed_in_as(second) == "alice"
            second.get_by_test_id("stProgress").wait_for()
            assert "drop-at-90" in second.get_by_test_id("stMain").inner_text()

            # So does a refresh: still alice, back on the live generation (or its end).
            page.reload()
            assert signed_in_as(page) == "alice"
            page.get_by_role("heading", name="Generate a MasterPlan").wait_for()
            following = page.get_by_test_id("stProgress").or_(page.get_by_text("is ready:"))
            following.first.wait_for()
            assert "drop-at-90" in page.get_by_test_id("stMain").inner_text()
            assert not page.get_by_role("button", name="Start generation").count()
            page.screenshot(path=str(ARTIFACTS / "dashboard-after-reload.png"), full_page=True)

            page.get_by_text("Recovering with resume").first.wait_for()
            page.screenshot(path=str(ARTIFACTS / "dashboard-live-recovery.png"), full_page=True)

            page.get_by_text("is ready:").wait_for()
            page.get_by_test_id("stExpander").first.wait_for()  # the plan's phases
            text = page.get_by_test_id("stMain").inner_text()
            project = re.search(r"(.+) is ready: \d+ phases", text).group(1).strip()
            settled(page)
            assert "tier resume" in text
            recovered = r"Attempt 1 failed \(connection_dropped\)\. Recovering with resume"
            assert re.search(recovered, text)
            assert "Phase 1 · " in text and "T1 · " in text
            page.screenshot(path=str(ARTIFACTS / "dashboard-completed.png"), full_page=True)

            open_page(page, "History")
            page.get_by_text("Showing 1–1 of 1 generations").wait_for()
            page.get_by_test_id("stDataFrame").first.wait_for()
            settled(page)
            page.screenshot(path=str(ARTIFACTS / "dashboard-history.png"), full_page=True)
            # Selecting the row (its checkbox, first column of the grid) opens the detail.
            grid = page.get_by_test_id("stDataFrame").first.bounding_box()
            page.mouse.click(grid["x"] + 15, grid["y"] + 52)
            page.get_by_role("tab", name="Chunk timeline").wait_for()
            page.get_by_role("heading", name=project).wait_for()
            page.get_by_role("tab", name="Attempts").click()
            page.get_by_text("Download timeline CSV").wait_for(state="attached")

            page.get_by_role("button", name="Log out").click()
            page.get_by_text("You have logged out.").wait_for()
            wait_for_cookie(context, present=False)
            # Logging out ends the login everywhere: the other tab's next run is logged out
            # too, and nothing writes the cookie back.
            open_page(second, "History")
            second.get_by_role("button", name="Log in").wait_for()
            settled(second)
            assert refresh_cookie(context) is None
            second.close()
            page.reload()  # logged out for good: a refresh lands on the login page
            assert signed_in_as(page) is None
            page.get_by_role("button", name="Log in").wait_for()

            sign_up(page, "bob")
            page.get_by_role("button", name="Start generation").wait_for()
            assert project not in page.get_by_test_id("stMain").inner_text()
            wait_for_cookie(context, present=True)
            page.reload()  # the cookie is now bob's
            assert signed_in_as(page) == "bob"
            page.get_by_role("button", name="Start generation").wait_for()
            settled(page)
            assert project not in page.get_by_test_id("stMain").inner_text()
            open_page(page, "History")
            page.get_by_text("No generations yet").wait_for()
            open_page(page, "Fallback statistics")
            page.get_by_text("No finished generations yet").wait_for()
            open_page(page, "Generation detail")
            page.get_by_text("No generations yet").wait_for()
            assert project not in page.get_by_test_id("stMain").inner_text()

            # A forged cookie is refused quietly: the login page says so and clears it.
            context.clear_cookies()
            forged = jwt.encode(
                {"sub": "x", "type": "refresh", "iat": 0, "exp": 2**31},
                "not the server's secret" * 2,
                algorithm="HS256",
            )
            context.add_cookies([{"name": "planner_refresh", "value": forged, "url": dashboard}])
            page.reload()
            assert signed_in_as(page) is None
            page.get_by_text("Your saved login was refused").wait_for()
            wait_for_cookie(context, present=False)
        finally:
            browser.close()
