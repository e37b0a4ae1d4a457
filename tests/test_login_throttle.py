"""Guessing passwords costs time: per-account and per-client windows, a moved clock, no sleeps.

Every rule runs on both kinds of window: in the process's memory and in the database (what
the dashboard uses, shared by all its processes).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from planner.auth import InvalidCredentials, UserExists, create_user
from planner.db import Database, LoginAttempt
from planner.throttle import (
    LoginThrottle,
    SignupThrottle,
    SlidingWindow,
    StoredWindow,
    TooManyAttempts,
)

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "database"])
def throttle(request: pytest.FixtureRequest, duckdb: Database, clock: Clock) -> LoginThrottle:
    where = duckdb if request.param == "database" else None
    return LoginThrottle(where, account_failures=3, client_failures=5, window_s=60, clock=clock)


def fail(throttle: LoginThrottle, db: Database, username: str, client: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            throttle.authenticate(db, username, "wrong password", client=client)


def test_an_account_is_held_back_after_its_failures_even_with_the_right_password(
    duckdb: Database, throttle: LoginThrottle, clock: Clock
) -> None:
    create_user(duckdb, "alice", PASSWORD)
    for client in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # many clients, one account
        clock.now += 5
        fail(throttle, duckdb, "alice", client, 1)
    with pytest.raises(TooManyAttempts) as refused:
        throttle.authenticate(duckdb, "ALICE", PASSWORD, client="10.0.0.9")
    assert str(refused.value) == "Too many attempts; try again in 50 s"
    assert refused.value.retry_after_s == 50  # the first failure leaves the window then
    clock.now += 49
    with pytest.raises(TooManyAttempts, match="try again in 1 s"):
        throttle.authenticate(duckdb, "alice", PASSWORD, client="10.0.0.9")
    clock.now += 1  # sliding: one slot is free again, not the whole window
    assert throttle.authenticate(duckdb, "alice", PASSWORD, client="10.0.0.9").username == "alice"
    fail(throttle, duckdb, "alice", "10.0.0.1", 3)  # a success cleared the account's window


def test_unknown_names_are_held_back_like_real_ones(
    duckdb: Database, throttle: LoginThrottle
) -> None:
    fail(throttle, duckdb, "nobody", "10.0.0.1", 3)
    with pytest.raises(TooManyAttempts, match="try again in 60 s"):
        throttle.authenticate(duckdb, "nobody", "anything", client="10.0.0.2")


def test_one_client_spraying_many_accounts_is_held_back_and_others_are_not(
    duckdb: Database, throttle: LoginThrottle, clock: Clock
) -> None:
    create_user(duckdb, "alice", PASSWORD)
    for number in range(5):
        clock.now += 1
        fail(throttle, duckdb, f"user{number}", "203.0.113.7", 1)
    with pytest.raises(TooManyAttempts, match="try again in 56 s"):
        throttle.authenticate(duckdb, "alice", PASSWORD, client="203.0.113.7")
    assert throttle.authenticate(duckdb, "alice", PASSWORD, client="198.51.100.1")


def test_a_refused_attempt_does_not_extend_the_wait(
    duckdb: Database, throttle: LoginThrottle, clock: Clock
) -> None:
    fail(throttle, duckdb, "bob", "10.0.0.1", 3)
    for _ in range(20):
        with pytest.raises(TooManyAttempts):
            throttle.authenticate(duckdb, "bob", "guess", client="10.0.0.1")
    clock.now += 60
    fail(throttle, duckdb, "bob", "10.0.0.1", 1)  # checked again, and wrong


def test_successful_logins_never_use_up_the_client_window(
    duckdb: Database, throttle: LoginThrottle
) -> None:
    create_user(duckdb, "alice", PASSWORD)
    for _ in range(6):  # more than both limits, all from one shared address
        assert throttle.authenticate(duckdb, "alice", PASSWORD, client="192.0.2.1")


@pytest.mark.parametrize("where", ["memory", "database"])
def test_the_window_counts_only_what_happened_within_it(duckdb: Database, where: str) -> None:
    window = SlidingWindow(2, 10) if where == "memory" else StoredWindow(duckdb, "test", 2, 10)
    window.add("k", 0)
    window.add("k", 4)
    assert window.retry_after("k", 5) == 5
    assert window.retry_after("k", 10) is None  # the event at 0 has left the window
    window.add("k", 10)
    assert window.retry_after("k", 11) == 3
    window.discard("k", 10)
    assert window.retry_after("k", 11) is None
    window.clear("k")
    assert window.retry_after("k", 4.5) is None
    with pytest.raises(ValueError):
        SlidingWindow(limit=0, window_s=10)
    with pytest.raises(ValueError):
        StoredWindow(duckdb, "test", limit=2, window_s=0)


def test_dashboards_on_one_database_share_the_limits_and_store_no_names(
    db: Database, clock: Clock
) -> None:
    """Two throttles on one database (two dashboard processes) count the same failures;
    what is stored is a digest, never the name or address typed; old rows are pruned."""
    create_user(db, "alice", PASSWORD)
    first, second = (
        LoginThrottle(db, account_failures=3, client_failures=5, window_s=60, clock=clock)
        for _ in range(2)
    )
    fail(first, db, "alice", "10.0.0.1", 2)
    fail(second, db, "alice", "10.0.0.2", 1)
    with pytest.raises(TooManyAttempts, match="try again in 60 s"):
        first.authenticate(db, "alice", PASSWORD, client="10.0.0.3")
    keys = db.read(lambda conn: conn.scalars(select(LoginAttempt.key)).all())
    assert len(keys) == 6 and not any("alice" in k or "10.0.0" in k for k in keys)
    clock.now += 61
    assert second.authenticate(db, "alice", PASSWORD, client="10.0.0.3").username == "alice"
    fail(first, db, "bob", "10.0.0.4", 1)  # a new row prunes the ones that left the window
    counted = db.read(lambda conn: conn.scalar(select(func.count()).select_from(LoginAttempt)))
    assert counted == 2


@pytest.mark.parametrize("where", ["memory", "database"])
def test_sign_ups_from_one_client_are_limited(duckdb: Database, clock: Clock, where: str) -> None:
    signups = SignupThrottle(
        duckdb if where == "database" else None, limit=2, window_s=3600, clock=clock
    )
    assert signups.create_user(duckdb, "ann", PASSWORD, client="10.0.0.1").username == "ann"
    with pytest.raises(UserExists):  # a refused name counts too
        signups.create_user(duckdb, "ann", PASSWORD, client="10.0.0.1")
    with pytest.raises(TooManyAttempts, match="try again in 3600 s"):
        signups.create_user(duckdb, "bea", PASSWORD, client="10.0.0.1")
    assert signups.create_user(duckdb, "bea", PASSWORD, client="10.0.0.2")  # another client
    clock.now += 3600
    assert signups.create_user(duckdb, "cid", PASSWORD, client="10.0.0.1")


def test_the_login_page_says_when_to_try_again(home_db: Database) -> None:
    from tests.test_dashboard_apptest import app

    create_user(home_db, "alice", PASSWORD)
    at = app().run()
    for attempt in range(6):
        at.text_input(key="login_username").input("alice")
        at.text_input(key="login_password").input(f"wrong password {attempt}")
        at.button(key="FormSubmitter:login-Log in").click().run()
        assert not at.exception, at.exception
    [error] = [e.value for e in at.error]
    found = re.fullmatch(r"Could not log in: Too many attempts; try again in (\d+) s\.", error)
    assert found and 1 <= int(found[1]) <= 300, error
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="FormSubmitter:login-Log in").click().run()
    assert "planner_access_token" not in at.session_state
    # The failures are in the database: another dashboard process refuses alice too.
    with pytest.raises(TooManyAttempts):
        LoginThrottle(home_db).authenticate(home_db, "alice", PASSWORD, client="10.9.9.9")
