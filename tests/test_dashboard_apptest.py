"""The dashboard through Streamlit's AppTest: login, navigation, validation, empty states."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from streamlit.testing.v1 import AppTest

from planner.auth import (
    create_user,
    delete_user,
    issue_access_token,
    verify_access_token,
    verify_refresh_token,
)
from planner.config import get_settings, reset_settings
from planner.dashboard import cookie
from planner.dashboard.session import FAMILY_KEY, REFRESH_KEY, TOKEN_KEY
from planner.dashboard.text import WORD_JOINER, literal
from planner.db import Database, Generation, utcnow
from planner.sessions import start_session
from tests.rows import T0, generation

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "correct horse battery"


def page(name: str) -> str:
    return f"planner/dashboard/pages/{name}.py"


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def logged_in(db: Database, username: str = "alice") -> tuple[AppTest, object]:
    user = create_user(db, username, PASSWORD)
    at = app()
    at.session_state[TOKEN_KEY] = issue_access_token(user)
    return at, user


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in (
            "title",
            "markdown",
            "caption",
            "info",
            "error",
            "warning",
            "success",
            "subheader",
        )
        for e in getattr(at, kind)
    ]
    parts += [str(m.label) + " " + str(m.value) for m in at.metric]
    return "\n".join(map(str, parts))


def test_first_visit_shows_login_and_signup() -> None:
    at = app().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["planner"]
    assert [t.label for t in at.tabs] == ["Log in", "Sign up"]
    assert not at.sidebar.button  # no logout before logging in


def test_signup_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_SIGNUP", "0")
    reset_settings()
    at = app().run()
    assert not at.exception
    assert not at.tabs
    assert "Sign-up is switched off" in texts(at)
    with pytest.raises(KeyError):
        at.text_input(key="signup_username")


@pytest.mark.parametrize(
    ("username", "password", "repeat", "message"),
    [
        ("bad name!", PASSWORD, PASSWORD, "may use only letters"),
        ("", PASSWORD, PASSWORD, "the username is empty"),
        ("bob", "short", "short", "at least 8 characters"),
        ("bob", PASSWORD, PASSWORD + "x", "The two passwords differ"),
        ("local", PASSWORD, PASSWORD, "reserved"),
    ],
)
def test_signup_refuses_bad_input_clearly(
    username: str, password: str, repeat: str, message: str
) -> None:
    at = app().run()
    at.text_input(key="signup_username").input(username)
    at.text_input(key="signup_password").input(password)
    at.text_input(key="signup_repeat").input(repeat)
    at.button(key="FormSubmitter:signup-Create account").click().run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert TOKEN_KEY not in at.session_state


def test_signup_of_a_taken_name_is_refused(home_db: Database) -> None:
    create_user(home_db, "alice", PASSWORD)
    at = app().run()
    at.text_input(key="signup_username").input("Alice")
    at.text_input(key="signup_password").input(PASSWORD)
    at.text_input(key="signup_repeat").input(PASSWORD)
    at.button(key="FormSubmitter:signup-Create account").click().run()
    assert any("already exists" in e.value for e in at.error)


def test_wrong_password_and_empty_fields_get_clear_messages(home_db: Database) -> None:
    create_user(home_db, "alice", PASSWORD)
    at = app().run()
    at.button(key="FormSubmitter:login-Log in").click().run()
    assert [e.value for e in at.error] == ["Enter your username and password."]
    at.text_input(key="login_username").input("alice")
    at.text_input(key="login_password").input("not the password")
    at.button(key="FormSubmitter:login-Log in").click().run()
    assert [e.value for e in at.error] == ["Could not log in: wrong username or password."]
    at.text_input(key="login_username").input("nobody")
    at.button(key="FormSubmitter:login-Log in").click().run()
    assert [e.value for e in at.error] == ["Could not log in: wrong username or password."]
    assert TOKEN_KEY not in at.session_state


def test_login_navigation_empty_states_and_logout(home_db: Database) -> None:
    create_user(home_db, "alice", PASSWORD)
    at = app().run()
    at.text_input(key="login_username").input("alice")
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="FormSubmitter:login-Log in").click().run()
    assert not at.exception, at.exception
    assert TOKEN_KEY in at.session_state
    assert "Signed in as **alice**" in [m.value for m in at.sidebar.markdown]
    assert [t.value for t in at.title] == ["Generate a MasterPlan"]

    at.switch_page(page("history")).run()
    assert "No generations yet. Start one on the Generate page" in texts(at)
    at.switch_page(page("statistics")).run()
    assert "No finished generations yet" in texts(at)
    at.switch_page(page("detail")).run()
    assert "No generations yet. Start one on the Generate page; its plan" in texts(at)
    assert not at.exception

    at.sidebar.button(key="logout").click().run()
    assert TOKEN_KEY not in at.session_state
    assert [t.label for t in at.tabs] == ["Log in", "Sign up"]
    assert not at.sidebar.markdown and not at.sidebar.button  # no trace of alice's sidebar
    assert "You have logged out." in texts(at)


def test_expired_or_forged_token_returns_to_login(home_db: Database) -> None:
    user = create_user(home_db, "alice", PASSWORD)
    now = datetime.now(UTC)
    expired = jwt.encode(
        {
            "sub": str(user.id),
            "name": "alice",
            "type": "access",
            "jti": "x",
            "iat": now - timedelta(hours=2),
            "exp": now - timedelta(hours=1),
        },
        get_settings().jwt_secret(),
        algorithm="HS256",
    )
    at = app()
    at.session_state[TOKEN_KEY] = expired
    at.run()
    assert not at.exception
    assert TOKEN_KEY not in at.session_state
    assert "Your session expired. Log in again to continue." in texts(at)

    forged = jwt.encode(
        {
            "sub": str(user.id),
            "type": "access",
            "iat": now,
            "jti": "y",
            "exp": now + timedelta(hours=1),
        },
        "another key" * 4,
        algorithm="HS256",
    )
    at = app()
    at.session_state[TOKEN_KEY] = forged
    at.run()
    assert TOKEN_KEY not in at.session_state
    assert "You were logged out: the token's signature does not match" in texts(at)


def test_history_pages_filters_and_shows_only_own_rows(home_db: Database) -> None:
    at, alice = logged_in(home_db, "alice")
    bob = create_user(home_db, "bob", PASSWORD)
    for i in range(60):
        generation(
            home_db,
            alice.id,
            created_at=T0 + timedelta(minutes=i),
            total_chars=20,
            status="failed" if i % 10 == 0 else "completed",
            description=f"alice project {i}",
        )
    generation(home_db, bob.id, total_chars=20, description="bob's secret project")
    at.switch_page(page("history")).run()
    assert not at.exception
    assert "Showing 1–50 of 60 generations" in texts(at)
    table = at.dataframe[0].value
    assert len(table) == 50 and table["title"].iloc[0] == "alice project 59"
    assert not table["description"].str.contains("bob").any()

    at.number_input(key="history_page").set_value(2).run()
    assert "Showing 51–60 of 60 generations" in texts(at)
    assert len(at.dataframe[0].value) == 10

    at.multiselect(key="history_status").select("failed").run()
    assert "Showing 1–6 of 6 generations" in texts(at)  # page reset to 1 as the list shrank
    assert set(at.dataframe[0].value["status"]) == {"failed"}

    at.multiselect(key="history_strategy").select("resume")
    at.multiselect(key="history_fault").select("none").run()
    assert "Showing 1–6 of 6" in texts(at)


def test_detail_page_shows_the_plan_and_refuses_other_users_ids(home_db: Database) -> None:
    at, alice = logged_in(home_db, "alice")
    bob = create_user(home_db, "bob", PASSWORD)
    mine = generation(
        home_db,
        alice.id,
        total_chars=300,
        fail_at_char=270,
        with_plan=True,
        fault_spec="drop-at-90",
        tier="resume",
    )
    theirs = generation(home_db, bob.id, total_chars=30, description="bob's secret project")
    at.query_params["id"] = str(mine)
    at.switch_page(page("detail")).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Bakery Orders"]
    assert [e.label for e in at.expander][:2] == [
        f"Phase 1 · {literal('Phase 1: Foundation')} — 1 milestones, 1 tasks",
        f"Phase 2 · {literal('Phase 2: Ordering')} — 1 milestones, 2 tasks",
    ]
    tree = texts(at)
    assert "**T3 · Task 3** :red-badge[critical]" in tree and "after T1, T2" in tree
    assert "RemoteProtocolError at char 270" in tree
    attempts = at.dataframe[0].value
    assert list(attempts["kind"]) == ["stream", "resume"]
    assert list(attempts["tier"]) == ["stream", "resume"]  # each attempt's own tier
    assert "None" not in attempts[["stop_reason", "error_type", "request_id"]].to_string()
    # attempts stored without a thinking count say `unknown`, never 0, None or <NA>
    assert list(attempts["thinking_tokens"]) == ["unknown", "unknown"]
    assert "Attempt 1: RemoteProtocolError (in full)" in [e.label for e in at.expander]
    assert [b.label for b in at.get("download_button")] == [
        "Download plan JSON",
        "Download timeline CSV",
    ]

    at.query_params["id"] = str(theirs)
    at.run()
    assert "There is no generation with that id among yours." in texts(at)
    assert "bob's secret" not in texts(at)
    at.query_params["id"] = "not-a-uuid"
    at.run()
    assert f"{literal(repr('not-a-uuid'))} is not a generation id." in texts(at)


def test_statistics_page_with_data(home_db: Database) -> None:
    at, alice = logged_in(home_db, "alice")
    for _ in range(2):
        generation(home_db, alice.id, total_chars=10, duration_s=10.0, output_tokens=1000)
    generation(
        home_db,
        alice.id,
        total_chars=10,
        fault_spec="drop-at-90",
        tier="resume",
        duration_s=15.0,
        output_tokens=1100,
        wasted_output_tokens=100,
    )
    generation(
        home_db,
        alice.id,
        total_chars=10,
        strategy="hybrid",
        fault_spec="drop-at-90",
        status="failed",
        tier="failed",
        duration_s=5.0,
        output_tokens=900,
    )
    at.switch_page(page("statistics")).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Finished generations"] == "4"
    assert metrics["Completed (3 plans)"] == "75%"
    assert metrics["Median time overhead under faults"] == "×1.50"
    assert metrics["Wasted output tokens"] == "100"
    assert len(at.get("vega_lite_chart")) == 4


def start_form(
    at: AppTest,
    description: str,
    *,
    faults: str = "none",
    strategy: str = "resume",
    speed: float = 0.0,
    spec: str | None = None,
) -> AppTest:
    at.text_area(key="gen_description").input(description)
    at.selectbox(key="gen_strategy").select(strategy)
    at.selectbox(key="gen_faults").select(faults)
    at.number_input(key="gen_speed").set_value(speed)
    if spec is not None:
        at.run()
        at.text_area(key="gen_spec").input(spec)
    return at.button(key="gen_start").click().run()


def test_generate_form_refuses_bad_input_clearly(home_db: Database) -> None:
    at, _ = logged_in(home_db, "alice")
    at.run()
    assert not at.exception, at.exception
    start_form(at, "   ")
    assert "the project description is empty" in texts(at)
    start_form(at, "A bakery", faults="custom JSON spec…", spec="")
    assert "Enter a fault spec" in texts(at)
    start_form(at, "A bakery", faults="custom JSON spec…", spec='[{"type": "gremlins"}]')
    assert "bad fault spec" in texts(at)
    assert "following_generation" not in at.session_state


def test_generate_runs_in_the_service_and_ends_on_the_plan(home_db: Database) -> None:
    from planner.dashboard import resources

    at, user = logged_in(home_db, "alice")
    at.run()
    start_form(at, "An online ordering system for a small bakery.", faults="drop-at-90")
    assert not at.exception, at.exception
    generation_id = at.session_state["following_generation"]
    outcome = resources.service().wait(uuid.UUID(generation_id), timeout=120)
    assert outcome.status == "completed", outcome.error
    at.run()
    page_text = texts(at)
    assert "is ready:" in page_text and "tier `resume`" in page_text
    dropped = literal("connection_dropped")
    recovered = f"Attempt 1 failed ({dropped}). Recovering with **resume** as attempt 2"
    assert recovered in page_text
    assert "(resume)" not in page_text  # the decision is the tier already named
    assert f":small[{dropped}" not in page_text  # the failure's kind is said once, not twice
    assert at.expander  # the plan tree

    other = create_user(home_db, "bob", PASSWORD)
    at_bob = app()
    at_bob.session_state[TOKEN_KEY] = issue_access_token(other)
    at_bob.run()
    assert "following_generation" not in at_bob.session_state
    at_bob.switch_page(page("history")).run()
    assert "No generations yet" in texts(at_bob)


def test_a_new_session_reattaches_to_the_users_running_generation(home_db: Database) -> None:
    at, alice = logged_in(home_db, "alice")
    bob = create_user(home_db, "bob", PASSWORD)
    running = generation(
        home_db,
        alice.id,
        status="running",
        tier=None,
        total_chars=200,
        fail_at_char=180,
        fault_spec="drop-at-90",
    )
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["following_generation"] == str(running)
    assert len(at.get("progress")) == 1
    page_text = texts(at)
    assert (
        f"Attempt 1 failed ({literal('connection_dropped')}). Recovering with **resume**"
        in page_text
    )
    assert [m.value for m in at.metric if m.label == "Attempt"] == ["2"]
    assert any("xxxxxxxxx2" in c.value for c in at.code)  # the live tail of the text

    at_bob = app()
    at_bob.session_state[TOKEN_KEY] = issue_access_token(bob)
    at_bob.run()
    assert not at_bob.get("progress")
    assert at_bob.button(key="gen_start")


def test_experiments_page_runs_a_matrix_and_shows_its_results(home_db: Database) -> None:
    from planner.dashboard import experiment_jobs

    at, alice = logged_in(home_db, "alice")
    at.switch_page(page("experiments")).run()
    assert not at.exception, at.exception
    assert "No experiments yet." in texts(at)
    at.multiselect(key="exp_faults").set_value(["drop-at-90"])
    at.multiselect(key="exp_strategies").set_value(["resume", "hybrid"])
    at.number_input(key="exp_speed").set_value(5000.0)
    at.text_input(key="exp_extra").input('[{"type": "gremlins"}]').run()
    assert "4 generations" not in texts(at)  # the bad spec counts as a third fault
    at.button(key="exp_start").click().run()
    assert any("The experiment cannot run" in e.value and "gremlins" in e.value for e in at.error)

    at.text_input(key="exp_extra").input("").run()
    assert "4 generations, including the fault-free baselines." in texts(at)
    at.button(key="exp_start").click().run()
    assert not at.exception, at.exception
    experiment_id = uuid.UUID(at.session_state["experiment_selected"])
    job = experiment_jobs.job_for(experiment_id, alice.id)
    assert job is not None and job.total_runs == 4
    job.thread.join(180)
    assert not job.alive and job.error is None
    at.run()
    page_text = texts(at)
    assert "Best under faults: **resume**, 100% success" in page_text
    summary = at.dataframe[0].value
    assert set(zip(summary["strategy"], summary["fault"], strict=True)) == {
        ("resume", "drop-at-90"),
        ("hybrid", "drop-at-90"),
        ("resume", "none"),
        ("hybrid", "none"),
    }
    # words for names and every figure as text, the library's own digits, no "None"
    from planner.analysis import experiment_summary, shown_summary

    expected = shown_summary(experiment_summary(home_db, experiment_id))
    assert list(summary.columns) == list(expected.columns)
    assert summary["success"].tolist() == expected["success"].tolist()
    assert summary["success"].str.contains(r"\(\d+/\d+, 95% CI ").all()
    assert "None" not in summary.to_string() and "nan" not in summary.to_string()

    bob = create_user(home_db, "bob", PASSWORD)
    at_bob = app()
    at_bob.session_state[TOKEN_KEY] = issue_access_token(bob)
    at_bob.switch_page(page("experiments")).run()
    assert "No experiments yet." in texts(at_bob)
    assert experiment_jobs.job_for(experiment_id, bob.id) is None


def test_a_running_generation_can_be_cancelled_and_ends_on_a_clear_error(home_db: Database) -> None:
    from planner.dashboard import resources

    at, _ = logged_in(home_db, "alice")
    at.run()
    start_form(at, "A slow plan for a bakery, to be cancelled.", speed=0.5)
    generation_id = uuid.UUID(at.session_state["following_generation"])
    assert len(at.get("progress")) == 1  # the live view
    at.button(key="gen_cancel").click().run()
    outcome = resources.service().wait(generation_id, timeout=120)
    assert outcome.status == "failed"
    at.run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("The generation failed") and "cancelled" in e for e in errors), errors
    at.button(key="gen_new").click().run()
    assert at.button(key="gen_start")


@pytest.mark.postgres
def test_pages_work_unchanged_on_postgresql(
    postgres: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_DATABASE_URL", postgres.url)
    reset_settings()
    at, alice = logged_in(postgres, "alice")
    generation(
        postgres,
        alice.id,
        total_chars=300,
        fail_at_char=270,
        with_plan=True,
        fault_spec="drop-at-90",
        tier="resume",
    )
    at.switch_page(page("history")).run()
    assert not at.exception, at.exception
    assert "Showing 1–1 of 1 generations" in texts(at)
    at.switch_page(page("detail")).run()
    assert [t.value for t in at.title] == ["Bakery Orders"]
    at.switch_page(page("statistics")).run()
    assert {m.label: m.value for m in at.metric}["Finished generations"] == "1"
    assert not at.exception


def test_an_unreachable_database_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PLANNER_DATABASE_URL", "postgresql+psycopg://planner:s3cret@127.0.0.1:1/nowhere"
    )
    reset_settings()
    at = app().run()
    assert not at.exception
    [error] = [e.value.replace(WORD_JOINER, "") for e in at.error]
    assert "planner cannot use its database `postgresql+psycopg://planner:***@127.0.0.1:1" in error
    assert "s3cret" not in error


# The refresh cookie. AppTest cannot send cookies (its `context` cannot seed them), so
# these tests stand in for the browser at `cookie.browser_cookie`, our one reader of
# `st.context.cookies`; test_dashboard_browser.py drives the real cookie in Chromium.


def browser_sends(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    monkeypatch.setattr(cookie, "browser_cookie", lambda: value)


def cookie_scripts(at: AppTest) -> list[str]:
    return [h.value for h in at.html if cookie.ROUTE in h.value]


def set_cookie(script: str) -> str:
    """What the browser gets when the page's script hands its ticket to the cookie route."""
    ticket = re.search(r'\\"ticket\\": \\"([A-Za-z0-9_-]+)\\"', script)[1]
    response = cookie.redeem(ticket, secure=False)
    assert response.status_code == 204
    assert cookie.redeem(ticket, secure=False).status_code == 400, "a ticket works once"
    return response.headers["set-cookie"]


def refresh_token(
    user_id: uuid.UUID, *, key: str | None = None, hours: float = 1, token_type: str = "refresh"
) -> str:
    now = datetime.now(UTC)
    return jwt.encode(
        {
            "sub": str(user_id),
            "name": "alice",
            "type": token_type,
            "jti": "z",
            "iat": now - timedelta(hours=2),
            "exp": now + timedelta(hours=hours),
        },
        key or get_settings().jwt_secret(),
        algorithm="HS256",
    )


def test_login_writes_the_refresh_cookie_and_logout_clears_it(home_db: Database) -> None:
    create_user(home_db, "alice", PASSWORD)
    at = app().run()
    assert not cookie_scripts(at)  # nothing to write before logging in
    at.text_input(key="login_username").input("alice")
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="FormSubmitter:login-Log in").click().run()
    refresh = at.session_state[REFRESH_KEY]
    claims = verify_refresh_token(home_db, refresh)
    assert claims.username == "alice"
    assert claims.expires_at - datetime.now(UTC) > timedelta(days=29)
    [script] = cookie_scripts(at)
    assert refresh not in script, "the page sees a one-time ticket, never the token"
    assert at.session_state[TOKEN_KEY] not in script  # the access token stays server-side
    header = set_cookie(script)
    assert header.startswith(f"planner_refresh={refresh};")
    assert "HttpOnly" in header and "Path=/" in header and "SameSite=strict" in header
    max_age = int(re.search(r"Max-Age=(\d+)", header)[1])
    assert 29 * 86400 < max_age <= 30 * 86400  # the token's own lifetime

    at.sidebar.button(key="logout").click().run()
    assert at.session_state[REFRESH_KEY] == ""
    [script] = cookie_scripts(at)
    header = set_cookie(script)
    assert header.startswith('planner_refresh="";') and "Max-Age=0" in header
    assert refresh not in script


def test_a_new_session_logs_in_from_the_refresh_cookie(
    home_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = create_user(home_db, "alice", PASSWORD)
    running = generation(
        home_db,
        alice.id,
        status="running",
        tier=None,
        total_chars=200,
        fail_at_char=180,
        fault_spec="drop-at-90",
    )
    refresh = start_session(home_db, alice).refresh_token
    browser_sends(monkeypatch, refresh)
    at = app().run()  # a refresh: a new session with an empty session_state
    assert not at.exception, at.exception
    assert verify_access_token(home_db, at.session_state[TOKEN_KEY]).username == "alice"
    assert "Signed in as **alice**" in [m.value for m in at.sidebar.markdown]
    assert at.session_state["following_generation"] == str(running)  # re-attached
    assert len(at.get("progress")) == 1

    # Logging out wins over the cookie this session connected with (now stale).
    at.sidebar.button(key="logout").click().run()
    assert TOKEN_KEY not in at.session_state
    assert [t.label for t in at.tabs] == ["Log in", "Sign up"]
    at.run()
    assert TOKEN_KEY not in at.session_state
    assert "Max-Age=0" in set_cookie(cookie_scripts(at)[0])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("expired", "Your saved login has expired. Log in again to continue."),
        ("forged", "Your saved login was refused (the token's signature does not match"),
        ("access token", "Your saved login was refused (a 'access' token was given"),
        ("deleted user", "Your saved login was refused (the token's user no longer exists)"),
        ("garbage", "Your saved login was refused (the token is not a well-formed JWT)"),
    ],
)
def test_a_refused_refresh_cookie_returns_to_login_and_is_cleared(
    home_db: Database, monkeypatch: pytest.MonkeyPatch, case: str, message: str
) -> None:
    alice = create_user(home_db, "alice", PASSWORD)
    value = {
        "expired": refresh_token(alice.id, hours=-1),
        "forged": refresh_token(alice.id, key="another key" * 4),
        "access token": refresh_token(alice.id, token_type="access"),
        "deleted user": start_session(home_db, alice).refresh_token,
        "garbage": "<script>alert(1)</script>",
    }[case]
    if case == "deleted user":
        delete_user(home_db, "alice")
    browser_sends(monkeypatch, value)
    at = app().run()
    assert not at.exception, at.exception
    assert TOKEN_KEY not in at.session_state
    assert [t.label for t in at.tabs] == ["Log in", "Sign up"]
    assert any(message in i.value for i in at.info), [i.value for i in at.info]
    [script] = cookie_scripts(at)
    assert "Max-Age=0" in set_cookie(script) and value not in script


def test_an_expired_access_token_is_renewed_from_the_session(home_db: Database) -> None:
    at, alice = logged_in(home_db, "alice")
    at.session_state[FAMILY_KEY] = str(start_session(home_db, alice).family_id)
    at.session_state[TOKEN_KEY] = refresh_token(alice.id, hours=-1, token_type="access")
    at.run()
    assert not at.exception, at.exception
    assert verify_access_token(home_db, at.session_state[TOKEN_KEY]).user_id == alice.id
    assert [t.value for t in at.title] == ["Generate a MasterPlan"]


def test_only_a_jwt_can_be_written_to_the_cookie() -> None:
    with pytest.raises(ValueError, match="only a JWT"):
        cookie.issue_ticket('x"; document.location="http://evil', 0)


def _running(db: Database, user_id: object, description: str) -> uuid.UUID:
    return generation(
        db, user_id, status="running", tier=None, total_chars=200, description=description
    )


def test_each_tab_follows_its_own_run_across_a_refresh_and_names_it(home_db: Database) -> None:
    at, alice = logged_in(home_db, "alice")
    mine = _running(home_db, alice.id, "the run of browser A")
    _running(home_db, alice.id, "the run of browser B")  # newer: the re-attach default
    at.query_params["run"] = str(mine)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["following_generation"] == str(mine)
    assert len(at.get("progress")) == 1
    heading = next(m.value for m in at.markdown if "· run " in m.value)
    assert literal("the run of browser A") in heading and str(mine)[:8] in heading

    refreshed = app()  # a refresh: a new session with the same address and token
    refreshed.session_state[TOKEN_KEY] = at.session_state[TOKEN_KEY]
    refreshed.query_params["run"] = str(mine)
    refreshed.run()
    assert refreshed.session_state["following_generation"] == str(mine)
    assert "the run of browser B" not in texts(refreshed)


def test_a_tab_showing_the_form_keeps_what_was_typed_when_another_run_starts(
    home_db: Database,
) -> None:
    at, alice = logged_in(home_db, "alice")
    at.run()
    at.text_area(key="gen_description").input("half-typed plan for a bakery").run()
    _running(home_db, alice.id, "started in another tab")
    at.run()
    assert not at.exception, at.exception
    assert not at.get("progress")
    assert at.text_area(key="gen_description").value == "half-typed plan for a bakery"


def test_a_running_generation_whose_process_is_silent_is_never_shown_as_live(
    home_db: Database,
) -> None:
    at, alice = logged_in(home_db, "alice")
    dead = _running(home_db, alice.id, "its worker died")

    def silence(session) -> None:  # noqa: ANN001
        row = session.get(Generation, dead)
        row.heartbeat_at = utcnow() - timedelta(minutes=10)

    home_db.in_session(silence)
    at.query_params["run"] = str(dead)
    at.run()
    assert not at.exception, at.exception
    assert not at.get("progress")
    assert "The generation interrupted" in texts(at)
    assert "planner resume" in texts(at)


def test_compare_shows_two_generations_side_by_side_with_the_plan_diff(
    home_db: Database,
) -> None:
    at, alice = logged_in(home_db, "alice")
    first = generation(home_db, alice.id, with_plan=True, fail_at_char=400, strategy="resume")
    second = generation(
        home_db, alice.id, with_plan=True, strategy="restart", hostile="v2", output_tokens=2000
    )
    at.query_params["a"] = str(first)
    at.query_params["b"] = str(second)
    at.switch_page(page("compare")).run()
    assert not at.exception, at.exception
    figures = at.dataframe[0].value.set_index("figure")
    assert figures.loc["strategy"].tolist() == ["resume", "restart"]
    assert figures.loc["attempts"].tolist() == ["2", "1"]
    assert figures.loc["output tokens"].tolist() == ["1000", "2000"]
    assert figures.loc["cost (USD)", "A"] not in ("—", "None")  # priced from the catalogue
    diff = at.dataframe[-1].value
    assert set(diff["only in"]) == {"A", "B"} and "Task 1 v2" in set(diff["task"])
    assert len(at.get("vega_lite_chart")) == 1  # both timelines on one chart
