"""Every page in a real browser, with hostile text in every field of a stored plan.

One dashboard (`planner dashboard`, as a user starts it) over a prepared database and one
Chromium session for the module. A generation whose description, model, fault spec,
error, attempts, recovery reason and every name and description of its plan carry
Markdown images and links, raw HTML, Streamlit directives and stray backticks is shown on
every page; the browser must fetch nothing outside 127.0.0.1 (no tracking pixel, no
favicon or font from a CDN) and show the text as text (issue 17.1, issue 16 offline).
Screenshots of every page at 1440 and 900 px go to test-artifacts/.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from planner import auth
from planner.dashboard.text import WORD_JOINER
from planner.db import Database, utcnow
from planner.experiments import ExperimentConfig, run_experiment
from tests import rows
from tests.conftest import REPO_ROOT, cli_env, skip_or_fail
from tests.test_dashboard_browser import (
    CHROMIUM_ARGS,
    PASSWORD,
    chromium_path,
    free_port,
    settled,
    wait_until_serving,
)

pytestmark = pytest.mark.browser

ARTIFACTS = REPO_ROOT / "test-artifacts"
OUTSIDE = "203.0.113.9"  # TEST-NET-3: never anyone's server
HOSTILE = (
    f"![pixel](http://{OUTSIDE}/p.png) [link](http://{OUTSIDE}/l) <img src=http://{OUTSIDE}/i.png>"
    " :red[alarm] :material/warning: **bold** `tick ``"
)
# What the page must show literally where hostile text is (each is gone when rendered).
SHOWN = [
    f"![pixel](http://{OUTSIDE}/p.png)",
    ":red[alarm]",
    "**bold**",
    f"<img src=http://{OUTSIDE}",
    ":material/warning:",
]
PAGES = [
    "generate",
    "history",
    "detail",
    "compare",
    "compare-experiments",
    "statistics",
    "experiments",
]
WIDTHS = (1440, 900)
TIMEOUT_MS = 90_000


@dataclass
class Site:
    url: str
    generation_id: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("pages-browser") / "home"
    home.mkdir()
    with Database(f"duckdb:///{home / 'planner.duckdb'}") as db:
        db.ensure_schema()
        user_id = auth.create_user(db, "mallory", PASSWORD).id
        for strategies in (("resume",), ("resume", "restart")):  # two to compare
            config = ExperimentConfig(
                faults=("drop-at-90",), strategies=strategies, speed=1000.0, name=HOSTILE
            )
            assert run_experiment(db, config, user_id=user_id).status == "completed"
        # newer than the experiments' generations, so Generate lists them among the recent
        generation_id = rows.generation(
            db,
            user_id,
            fail_at_char=400,
            with_plan=True,
            hostile=HOSTILE,
            status="completed",
            created_at=utcnow(),
        )
        rows.generation(
            db, user_id, fault_spec="none", description="a clean baseline", created_at=utcnow()
        )
    port = free_port()
    log_path = home.parent / "dashboard.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "planner", "dashboard", "--port", str(port)],
            cwd=home.parent,  # not the checkout: the installed layout's own theme and pages
            env=cli_env(PLANNER_HOME=str(home), PLANNER_SOCKETIO_PORT="0"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server, log_path)
        yield Site(url, str(generation_id))
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def page(site: Site):  # noqa: ANN201
    """One logged-in Chromium tab; every request it makes is recorded in `site.requests`."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed (dev extras)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": WIDTHS[0], "height": 1000})
            context.set_default_timeout(TIMEOUT_MS)
            context.on("request", lambda request: site.requests.append(request.url))
            tab = context.new_page()
            tab.goto(site.url)
            tab.get_by_role("button", name="Log in").wait_for()
            settled(tab)
            ARTIFACTS.mkdir(exist_ok=True)
            for width in WIDTHS:
                tab.set_viewport_size({"width": width, "height": 1000})
                tab.screenshot(path=str(ARTIFACTS / f"page-login-{width}.png"), full_page=True)
            tab.get_by_label("Username", exact=True).fill("mallory")
            tab.get_by_label("Password", exact=True).fill(PASSWORD)
            tab.get_by_role("button", name="Log in").click()
            tab.get_by_role("heading", name="Generate a MasterPlan").wait_for()
            yield tab
        finally:
            browser.close()


def open_page(tab, site: Site, name: str) -> str:  # noqa: ANN001
    path, query = name, ""
    if name == "detail":
        query = f"?id={site.generation_id}"
    elif name == "compare-experiments":
        path, query = "compare", "?what=experiments"
    tab.goto(f"{site.url}/{path}{query}")
    tab.get_by_test_id("stSidebarNav").wait_for()
    settled(tab)
    return tab.get_by_test_id("stMain").inner_text().replace(WORD_JOINER, "")


def outside(requests: list[str]) -> list[str]:
    local = {"127.0.0.1", "localhost"}
    return [
        url
        for url in requests
        if urlsplit(url).scheme not in ("data", "blob", "about")
        and urlsplit(url).hostname not in local
    ]


def test_hostile_plan_text_shows_as_text_on_the_detail_page(page, site: Site) -> None:  # noqa: ANN001
    text = open_page(page, site, "detail")
    for shown in SHOWN:
        assert text.count(shown) >= 3, shown  # title, description, plan fields, settings ...
    page.get_by_role("tab", name="Attempts").click()
    page.get_by_role("tab", name="Events").click()
    settled(page)
    main = page.get_by_test_id("stMain")
    assert main.locator(f"img[src*='{OUTSIDE}'], a[href*='{OUTSIDE}']").count() == 0
    assert main.locator("[data-testid='stHeadingWithActionElements'] strong").count() == 0
    assert "tick ``" in main.get_by_role("heading").first.inner_text()  # no backtick break-out
    assert outside(site.requests) == []


@pytest.mark.parametrize("name", PAGES)
def test_every_page_fetches_nothing_outside_and_is_screenshotted_at_two_widths(
    page, site: Site, name: str
) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 1000})
    text = open_page(page, site, name)
    assert "Traceback" not in text
    if name in ("generate", "detail"):
        assert SHOWN[0] in text  # the hostile title or fault spec, as text
    if name == "compare-experiments":  # two experiments named with the hostile text
        assert "Compare two experiments" in text and "beyond their 95% intervals" in text
    main = page.get_by_test_id("stMain")
    assert main.locator(f"img[src*='{OUTSIDE}'], a[href*='{OUTSIDE}']").count() == 0
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        settled(page)
        page.screenshot(path=str(ARTIFACTS / f"page-{name}-{width}.png"), full_page=True)
    favicon = page.locator("link[rel~='icon']").first.get_attribute("href") or ""
    assert urlsplit(favicon).path.startswith("/media/"), favicon  # served by the dashboard
    assert outside(site.requests) == []
