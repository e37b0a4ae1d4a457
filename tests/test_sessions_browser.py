"""The refresh cookie in a real browser: HttpOnly (no page script reads it), rotated when a
new tab uses it, and worthless after logging out, even replayed by hand."""

from __future__ import annotations

import pytest

from tests.conftest import skip_or_fail
from tests.test_dashboard_browser import (  # noqa: F401  (fixtures)
    CHROMIUM_ARGS,
    SLOW_MS,
    chromium_path,
    dashboard,
    refresh_cookie,
    sign_up,
    signed_in_as,
    socketio_port,
    wait_for_cookie,
)

pytestmark = pytest.mark.browser


def test_the_refresh_cookie_is_httponly_rotates_and_dies_with_logout(dashboard: str) -> None:  # noqa: F811
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed (dev extras)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(SLOW_MS)
            page = context.new_page()
            page.goto(dashboard)
            sign_up(page, "alice")
            first = wait_for_cookie(context, present=True)
            assert first["httpOnly"] and first["sameSite"] == "Strict"
            assert "planner_refresh" not in page.evaluate("document.cookie")

            tab = context.new_page()  # a new session: it rotates the cookie it came with
            tab.goto(dashboard)
            assert signed_in_as(tab) == "alice"
            deadline_cookie = first["value"]
            for _ in range(300):
                if refresh_cookie(context)["value"] != deadline_cookie:
                    break
                tab.wait_for_timeout(100)
            rotated = refresh_cookie(context)
            assert rotated["value"] != first["value"] and rotated["httpOnly"]
            tab.close()

            page.get_by_role("button", name="Log out").click()
            page.get_by_text("You have logged out.").wait_for()
            wait_for_cookie(context, present=False)
            # Someone who copied the cookie before the logout replays it: refused.
            context.add_cookies(
                [{"name": "planner_refresh", "value": rotated["value"], "url": dashboard}]
            )
            page.reload()
            assert signed_in_as(page) is None
            page.get_by_text("Your saved login was refused").wait_for()
            wait_for_cookie(context, present=False)
        finally:
            browser.close()
