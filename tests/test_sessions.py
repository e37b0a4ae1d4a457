"""Sessions end: refresh tokens rotate, a replaced one shown again ends its family, and
logging out, a password change and deleting the user end every token they should."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from planner import auth, sessions
from planner.db import Database, SessionFamily, utcnow
from planner.events import EventBus
from planner.plan import GenerationService
from planner.realtime import RealtimeHandle, start_in_thread
from tests.realtime_support import Client, connected

PASSWORD = "correct horse battery"


@pytest.fixture
def alice(db: Database) -> auth.User:
    return auth.create_user(db, "alice", PASSWORD)


def age_rotation(db: Database, family_id, by: timedelta) -> None:  # noqa: ANN001
    """Move the family's last rotation into the past (instead of waiting out the grace)."""
    with db.session() as session:
        session.execute(
            update(SessionFamily)
            .where(SessionFamily.id == family_id)
            .values(rotated_at=utcnow() - by)
        )


def test_every_use_rotates_and_the_old_token_shown_again_ends_the_family(
    db: Database, alice: auth.User
) -> None:
    first = sessions.start_session(db, alice)
    second = sessions.refresh_session(db, first.refresh_token)
    third = sessions.refresh_session(db, second.refresh_token)
    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert first.family_id == second.family_id == third.family_id
    assert auth.verify_access_token(db, third.access_token).family_id == first.family_id

    age_rotation(db, first.family_id, timedelta(minutes=5))
    with pytest.raises(auth.TokenReused, match="ended for safety"):
        sessions.refresh_session(db, second.refresh_token)  # a copy someone kept
    # Everything of that family is dead now: the thief's copy and the owner's newest.
    with pytest.raises(auth.TokenRevoked, match="a replaced login token was used again"):
        sessions.refresh_session(db, third.refresh_token)
    for access in (first.access_token, second.access_token, third.access_token):
        with pytest.raises(auth.TokenRevoked):
            auth.verify_access_token(db, access)
    with pytest.raises(auth.TokenRevoked):
        sessions.renew_access(db, first.family_id)
    assert sessions.active_sessions(db, alice) == []


def test_two_tabs_opening_together_both_get_in_without_ending_the_session(
    db: Database, alice: auth.User
) -> None:
    login = sessions.start_session(db, alice)
    tab_one = sessions.refresh_session(db, login.refresh_token)
    tab_two = sessions.refresh_session(db, login.refresh_token)  # within the grace
    assert tab_two.refresh_token is None, "the browser keeps the newest cookie (tab one's)"
    assert auth.verify_access_token(db, tab_two.access_token).username == "alice"
    assert sessions.refresh_session(db, tab_one.refresh_token).refresh_token is not None


def test_logging_out_ends_that_session_only(db: Database, alice: auth.User) -> None:
    laptop = sessions.start_session(db, alice)
    phone = sessions.start_session(db, alice)
    assert sessions.end_session(db, laptop.family_id) is True
    assert sessions.end_session(db, laptop.family_id) is False  # already over
    with pytest.raises(auth.TokenRevoked, match=r"the session was ended \(logged out\)"):
        sessions.refresh_session(db, laptop.refresh_token)
    with pytest.raises(auth.TokenRevoked):
        auth.verify_access_token(db, laptop.access_token)
    assert sessions.refresh_session(db, phone.refresh_token).refresh_token
    assert [f.id for f in sessions.active_sessions(db, alice)] == [phone.family_id]


def test_a_password_change_ends_every_session_and_script_token_of_the_user(
    db: Database, alice: auth.User
) -> None:
    bob = auth.create_user(db, "bobby", PASSWORD)
    browsers = [sessions.start_session(db, alice) for _ in range(2)]
    script = sessions.start_session(db, alice, kind=sessions.SCRIPT)
    bobs = sessions.start_session(db, bob)
    auth.change_password(db, "alice", "a brand new passphrase")
    assert sessions.active_sessions(db, alice) == []
    for tokens in browsers:
        with pytest.raises(auth.TokenRevoked, match="the password was changed"):
            sessions.refresh_session(db, tokens.refresh_token)
    for access in [t.access_token for t in browsers] + [script.access_token]:
        with pytest.raises(auth.TokenRevoked):
            auth.verify_access_token(db, access)
    assert auth.verify_access_token(db, bobs.access_token).username == "bobby"
    with pytest.raises(auth.InvalidCredentials):
        auth.authenticate(db, "alice", PASSWORD)
    assert auth.authenticate(db, "alice", "a brand new passphrase").id == alice.id
    with pytest.raises(auth.InvalidPassword):
        auth.change_password(db, "alice", "short")


def test_end_sessions_by_name_and_deleting_the_user_leave_no_token_alive(
    db: Database, alice: auth.User
) -> None:
    one = sessions.start_session(db, alice)
    sessions.start_session(db, alice)
    assert sessions.end_sessions(db, "alice") == 2
    assert sessions.end_sessions(db, alice) == 0
    two = sessions.start_session(db, alice)
    auth.delete_user(db, "alice")
    for token in (one.refresh_token, two.refresh_token):
        with pytest.raises(auth.TokenError):
            sessions.refresh_session(db, token)
    with pytest.raises(auth.TokenUserGone):
        auth.verify_access_token(db, two.access_token)
    with pytest.raises(auth.UnknownUser):
        sessions.end_sessions(db, "alice")


def test_a_refresh_token_outside_any_session_record_is_refused(
    db: Database, alice: auth.User
) -> None:
    with pytest.raises(auth.TokenRevoked, match="predates revocable sessions"):
        sessions.refresh_session(db, auth.issue_refresh_token(alice))
    with pytest.raises(auth.TokenWrongType):
        sessions.refresh_session(db, sessions.start_session(db, alice).access_token)


# ---- the faces that use them -----------------------------------------------------------


def test_logging_out_in_the_dashboard_ends_the_saved_login_everywhere(
    home_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner.dashboard.session import FAMILY_KEY, REFRESH_KEY, TOKEN_KEY
    from tests.test_dashboard_apptest import app, browser_sends

    auth.create_user(home_db, "alice", PASSWORD)
    at = app().run()
    at.text_input(key="login_username").input("alice")
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="FormSubmitter:login-Log in").click().run()
    saved, access = at.session_state[REFRESH_KEY], at.session_state[TOKEN_KEY]
    assert at.session_state[FAMILY_KEY]
    at.sidebar.button(key="logout").click().run()
    with pytest.raises(auth.TokenRevoked):
        auth.verify_access_token(home_db, access)  # a copy of it is worth nothing now
    browser_sends(monkeypatch, saved)  # a browser (or a thief) that kept the old cookie
    again = app().run()
    assert not again.exception, again.exception
    assert TOKEN_KEY not in again.session_state
    notices = [i.value for i in again.info]
    assert any("the session was ended (logged out)" in n for n in notices), notices


def test_a_new_tab_rotates_the_cookie_it_came_with(
    home_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner.dashboard.session import REFRESH_KEY, TOKEN_KEY
    from tests.test_dashboard_apptest import app, browser_sends, cookie_scripts, set_cookie

    alice = auth.create_user(home_db, "alice", PASSWORD)
    cookie = sessions.start_session(home_db, alice).refresh_token
    browser_sends(monkeypatch, cookie)
    at = app().run()
    assert auth.verify_access_token(home_db, at.session_state[TOKEN_KEY]).username == "alice"
    rotated = at.session_state[REFRESH_KEY]
    assert rotated != cookie
    [script] = cookie_scripts(at)
    assert rotated not in script and cookie not in script
    assert set_cookie(script).startswith(f"planner_refresh={rotated};")


@pytest.fixture
def endpoint(home_db: Database, service: GenerationService) -> Iterator[RealtimeHandle]:
    handle = start_in_thread("127.0.0.1", 0, db=home_db, service=service, bus=EventBus())
    yield handle
    handle.stop()


@pytest.mark.anyio
async def test_socketio_refuses_and_drops_tokens_of_an_ended_session(
    home_db: Database, endpoint: RealtimeHandle, clients: list[Client]
) -> None:
    alice = auth.create_user(home_db, "alice", PASSWORD)
    live = sessions.start_session(home_db, alice)
    client = await connected(clients, endpoint, live.access_token)
    sessions.end_sessions(home_db, alice, reason="password")
    reply = await client.call("join_generation", {"generation_id": str(live.family_id)})
    assert reply["error"]["code"] == "token_revoked"
    assert "the password was changed" in reply["error"]["message"]
    await asyncio.wait_for(client.disconnected.wait(), 10)
    late = Client()
    with pytest.raises(Exception):  # noqa: B017  (socketio's ConnectionError)
        await late.connect(endpoint.url, live.access_token)
    assert late.connect_errors[-1]["data"]["code"] == "token_revoked"


def test_planner_users_passwd_and_delete_end_the_users_sessions(
    home_db: Database,
    run_cli,  # noqa: ANN001
) -> None:
    alice = auth.create_user(home_db, "alice", PASSWORD)
    browser = sessions.start_session(home_db, alice)
    changed = run_cli("users", "passwd", "alice", "--password-stdin", input="another passphrase\n")
    assert changed.returncode == 0, changed.stderr
    with pytest.raises(auth.TokenRevoked, match="the password was changed"):
        sessions.refresh_session(home_db, browser.refresh_token)
    again = sessions.start_session(home_db, alice)
    deleted = run_cli("users", "delete", "alice", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    with pytest.raises(auth.TokenUserGone):
        auth.verify_access_token(home_db, again.access_token)
