"""Who may connect to the Socket.IO endpoint, and for how long."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import socketio

from planner import auth
from planner.config import get_settings
from planner.db import Database
from planner.events import EventBus
from planner.plan import GenerationService
from planner.realtime import RealtimeHandle, start_in_thread
from tests.realtime_support import Client, Clock, connected, make_generation, make_user

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def endpoint(
    clock: Clock, home_db: Database, service: GenerationService
) -> Iterator[RealtimeHandle]:
    handle = start_in_thread(
        "127.0.0.1", 0, db=home_db, service=service, bus=EventBus(), clock=clock
    )
    yield handle
    handle.stop()


@pytest.fixture
def alice(home_db: Database) -> tuple[auth.TokenClaims, str]:
    _, token = make_user(home_db, "alice")
    return auth.verify_access_token(home_db, token), token


def signed(claims: dict, *, secret: str | None = None, algorithm: str = "HS256") -> str:
    now = datetime.now(UTC)
    body = {"iat": now, "exp": now + timedelta(minutes=5), "type": "access", "jti": "t", **claims}
    key = get_settings().jwt_secret() if secret is None else secret
    return jwt.encode(body, key if algorithm != "none" else None, algorithm=algorithm)


# ---- refusals at connect ---------------------------------------------------------------


async def refused(endpoint: RealtimeHandle, **connect: object) -> dict:
    client = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(endpoint.url, **connect)
    assert not client.sio.connected
    assert client.connect_errors, "the client must receive the reason"
    return client.connect_errors[-1]


async def test_no_token_is_refused_with_a_reason(endpoint: RealtimeHandle) -> None:
    reason = await refused(endpoint)
    assert reason["data"]["code"] == "token_missing"
    assert "no access token" in reason["message"]


async def test_a_token_signed_with_another_key_is_refused(
    endpoint: RealtimeHandle, alice: tuple[auth.TokenClaims, str]
) -> None:
    claims, _ = alice
    forged = signed({"sub": str(claims.user_id)}, secret="another-secret-" * 4)
    reason = await refused(endpoint, token=forged)
    assert reason["data"]["code"] == "token_signature"


async def test_alg_none_is_refused(
    endpoint: RealtimeHandle, alice: tuple[auth.TokenClaims, str]
) -> None:
    claims, _ = alice
    reason = await refused(endpoint, token=signed({"sub": str(claims.user_id)}, algorithm="none"))
    assert reason["data"]["code"] == "token_algorithm"
    assert "HS256" in reason["message"]


async def test_an_expired_token_is_refused(
    endpoint: RealtimeHandle, alice: tuple[auth.TokenClaims, str]
) -> None:
    claims, _ = alice
    past = datetime.now(UTC) - timedelta(minutes=10)
    token = signed({"sub": str(claims.user_id), "iat": past, "exp": past + timedelta(minutes=5)})
    reason = await refused(endpoint, token=token)
    assert reason["data"]["code"] == "token_expired"
    assert "expired" in reason["message"]


async def test_a_refresh_token_is_refused(home_db: Database, endpoint: RealtimeHandle) -> None:
    user, _ = make_user(home_db, "bob")
    reason = await refused(endpoint, token=auth.issue_refresh_token(user))
    assert reason["data"]["code"] == "token_wrong_type"


async def test_a_deleted_users_token_is_refused(
    home_db: Database, endpoint: RealtimeHandle
) -> None:
    _, token = make_user(home_db, "carol")
    auth.delete_user(home_db, "carol")
    reason = await refused(endpoint, token=token)
    assert reason["data"]["code"] == "user_gone"


async def test_garbage_and_malformed_headers_are_refused(endpoint: RealtimeHandle) -> None:
    assert (await refused(endpoint, token="not.a.jwt"))["data"]["code"] == "token_invalid"
    basic = await refused(endpoint, headers={"Authorization": "Basic YWxpY2U6cHc="})
    assert basic["data"]["code"] == "token_missing"
    assert "Bearer" in basic["message"]


async def test_bearer_header_and_auth_payload_both_connect(
    endpoint: RealtimeHandle, alice: tuple[auth.TokenClaims, str], clients: list[Client]
) -> None:
    _, token = alice
    by_payload = await connected(clients, endpoint, token)
    by_header = Client()
    clients.append(by_header)
    await by_header.connect(endpoint.url, headers={"Authorization": f"Bearer {token}"})
    assert by_payload.sio.connected and by_header.sio.connected


# ---- tokens that stop being valid during a connection -----------------------------------


async def test_a_token_expiring_during_the_connection_is_caught_at_the_next_event(
    home_db: Database,
    endpoint: RealtimeHandle,
    clock: Clock,
    alice: tuple[auth.TokenClaims, str],
    clients: list[Client],
) -> None:
    claims, token = alice
    generation_id = make_generation(home_db, claims.user_id)
    client = await connected(clients, endpoint, token)
    joined = await client.call("join_generation", {"generation_id": str(generation_id)})
    assert "error" not in joined
    clock.advance(claims.expires_at - clock() + timedelta(seconds=1))
    await client.sio.emit("request_catch_up", {"generation_id": str(generation_id), "after_seq": 0})
    await asyncio.wait_for(client.disconnected.wait(), 10)
    [error] = client.errors()
    assert error["code"] == "token_expired" and error["event"] == "request_catch_up"
    with pytest.raises(auth.TokenExpired) as at_connect:
        past = datetime.now(UTC) - timedelta(minutes=10)
        expired = {"sub": str(claims.user_id), "iat": past, "exp": past + timedelta(minutes=5)}
        auth.verify_access_token(home_db, signed(expired))
    assert error["message"] == str(at_connect.value), "the same words as at connect"
    assert not client.generation_events(generation_id)


async def test_a_user_deleted_during_the_connection_is_disconnected(
    home_db: Database, endpoint: RealtimeHandle, clients: list[Client]
) -> None:
    _, token = make_user(home_db, "dave")
    client = await connected(clients, endpoint, token)
    auth.delete_user(home_db, "dave")
    await client.sio.emit("join_generation", {"generation_id": str(uuid.uuid4())})
    await asyncio.wait_for(client.disconnected.wait(), 10)
    assert [e["code"] for e in client.errors()] == ["user_gone"]


# ---- a refusal's acknowledgement arrives before the disconnect ---------------------------


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("request_catch_up", {"after_seq": 0}),
        ("join_generation", {}),
        ("start_generation", {"description": "x"}),
        ("no_such_event", {}),
    ],
)
async def test_a_refused_tokens_reply_arrives_before_the_server_disconnects(
    home_db: Database,
    endpoint: RealtimeHandle,
    clock: Clock,
    clients: list[Client],
    event: str,
    data: dict,
) -> None:
    user, token = make_user(home_db, "erin")
    client = await connected(clients, endpoint, token)
    data = {**data, "generation_id": str(make_generation(home_db, user.id))}
    clock.advance(timedelta(hours=2))
    reply = await asyncio.wait_for(client.sio.call(event, data, timeout=10), 15)
    assert reply["error"]["code"] == "token_expired" and reply["error"]["event"] == event
    await asyncio.wait_for(client.disconnected.wait(), 10)
    assert client.errors() == [reply["error"]], "the error event says the same"


async def test_a_deleted_users_next_call_is_answered_then_disconnected(
    home_db: Database, endpoint: RealtimeHandle, clients: list[Client]
) -> None:
    _, token = make_user(home_db, "fred")
    client = await connected(clients, endpoint, token)
    auth.delete_user(home_db, "fred")
    reply = await client.call("join_generation", {"generation_id": str(uuid.uuid4())})
    assert reply["error"]["code"] == "user_gone"
    await asyncio.wait_for(client.disconnected.wait(), 10)
