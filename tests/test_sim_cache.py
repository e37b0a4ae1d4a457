"""Usage and prompt-cache token accounting as the API reports it."""

from __future__ import annotations

import threading
import time

import anthropic
import pytest

from planner.sim import Simulator
from planner.sim.cache import TTL_S
from planner.tokens import count_tokens
from tests.sim_helpers import VirtualTimer, client, plain_request, stream_text
from tests.sim_helpers import discovery as discovery_request

CACHE_MODEL = "claude-sonnet-4-6"  # caches from 1,024 tokens: the discovery prompt is enough


def discovery(model: str = CACHE_MODEL) -> dict:
    return discovery_request(model)


def usage_of(sim: Simulator, request: dict):  # noqa: ANN201
    return stream_text(client(sim.base_url), request)[1].usage


def test_cached_system_prompt_is_written_once_then_read() -> None:
    with Simulator(speed=0) as sim:
        first = usage_of(sim, discovery())
        second = usage_of(sim, discovery())
    system_tokens = count_tokens(discovery()["system"][0]["text"])
    assert first.cache_creation_input_tokens >= system_tokens
    assert first.cache_read_input_tokens == 0
    assert second.cache_creation_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.input_tokens == first.input_tokens > 0
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens


def test_a_different_prefix_or_model_is_a_new_cache_entry() -> None:
    with Simulator(speed=0) as sim:
        usage_of(sim, discovery())
        other_model = usage_of(sim, discovery(model="claude-opus-4-8"))
        changed = discovery()
        changed["system"] = [{**changed["system"][0], "text": changed["system"][0]["text"] + "!"}]
        other_prefix = usage_of(sim, changed)
    assert other_model.cache_read_input_tokens == 0 < other_model.cache_creation_input_tokens
    assert other_prefix.cache_read_input_tokens == 0 < other_prefix.cache_creation_input_tokens


def test_the_cache_expires_after_five_minutes_of_simulated_time() -> None:
    speed = 2000.0
    timer = VirtualTimer()
    request = {**discovery(), "max_tokens": 5}
    with Simulator(speed=speed, timer=timer) as sim, timer.autojump():
        usage_of(sim, request)
        timer.advance(TTL_S / speed - 0.01)
        kept = usage_of(sim, request)
        timer.advance(TTL_S / speed + 0.01)
        expired = usage_of(sim, request)
    assert kept.cache_read_input_tokens > 0, "read within five minutes, and kept five more"
    assert expired.cache_read_input_tokens == 0
    assert expired.cache_creation_input_tokens > 0


def test_without_cache_control_everything_is_plain_input() -> None:
    with Simulator(speed=0) as sim:
        usage = usage_of(sim, plain_request(system="You are terse."))
        again = usage_of(sim, plain_request(system="You are terse."))
    assert usage.cache_creation_input_tokens == again.cache_read_input_tokens == 0
    assert usage.input_tokens == again.input_tokens >= count_tokens("You are terse.")


def test_input_tokens_grow_with_the_conversation() -> None:
    with Simulator(speed=0) as sim:
        short = usage_of(sim, plain_request("hi"))
        long = usage_of(sim, plain_request("hi " * 200))
    assert long.input_tokens - short.input_tokens >= 190


def test_message_start_and_message_delta_usage_agree() -> None:
    with Simulator(speed=0) as sim:
        sdk = client(sim.base_url)
        with sdk.messages.stream(**plain_request()) as stream:
            events = list(stream)
    start = next(e for e in events if e.type == "message_start").message.usage
    delta = next(e for e in events if e.type == "message_delta").usage
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert start.input_tokens == delta.input_tokens
    assert delta.output_tokens == count_tokens(text)


def test_a_prefix_below_the_minimum_cacheable_length_is_not_cached() -> None:
    short = plain_request(system="You are terse.")
    short["system"] = [
        {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}
    ]
    with Simulator(speed=0) as sim:
        first = usage_of(sim, short)
        second = usage_of(sim, short)
    assert first.cache_creation_input_tokens == second.cache_read_input_tokens == 0
    assert second.input_tokens == first.input_tokens > 0


def test_both_stages_share_the_handbook_prefix() -> None:
    from planner.plan.handbook import HANDBOOK
    from planner.plan.prompts import masterplan_request
    from planner.plan.schema import Discovery

    found = Discovery(domain="retail", bounded_contexts=[{"name": "Orders"}])
    plan = masterplan_request("A shop", found, 8, CACHE_MODEL)
    with Simulator(speed=0) as sim:
        usage_of(sim, discovery())
        second_stage = usage_of(sim, {**plan, "max_tokens": 5})
    assert second_stage.cache_read_input_tokens >= count_tokens(HANDBOOK) >= 1024


def test_haiku_4_5_caches_nothing_below_its_4096_token_minimum() -> None:
    with Simulator(speed=0) as sim:
        usage_of(sim, discovery("claude-haiku-4-5"))
        haiku = usage_of(sim, discovery("claude-haiku-4-5"))
        usage_of(sim, discovery())
        sonnet = usage_of(sim, discovery())
    assert haiku.cache_read_input_tokens == haiku.cache_creation_input_tokens == 0
    assert haiku.cache_creation.ephemeral_5m_input_tokens == 0
    assert sonnet.cache_read_input_tokens > 1024


def with_ttl(request: dict, ttl: str) -> dict:
    system = [
        {**block, "cache_control": {"type": "ephemeral", "ttl": ttl}} for block in request["system"]
    ]
    return {**request, "system": system}


def test_a_one_hour_entry_outlives_five_minutes_and_is_reported_as_such() -> None:
    speed = 2000.0
    timer = VirtualTimer()
    hour, five = with_ttl({**discovery(), "max_tokens": 5}, "1h"), {**discovery(), "max_tokens": 5}
    five["system"] = [{**five["system"][0], "text": five["system"][0]["text"] + " (5m)"}]
    with Simulator(speed=speed, timer=timer) as sim, timer.autojump():
        written = usage_of(sim, hour)
        usage_of(sim, five)
        timer.advance(600 / speed)  # ten simulated minutes
        kept, expired = usage_of(sim, hour), usage_of(sim, five)
    assert (
        written.cache_creation.ephemeral_1h_input_tokens == written.cache_creation_input_tokens > 0
    )
    assert written.cache_creation.ephemeral_5m_input_tokens == 0
    assert kept.cache_read_input_tokens == written.cache_creation_input_tokens
    assert expired.cache_read_input_tokens == 0 < expired.cache_creation_input_tokens


def test_an_unknown_ttl_is_refused() -> None:
    with Simulator(speed=0) as sim, pytest.raises(anthropic.BadRequestError) as caught:
        client(sim.base_url).messages.create(**with_ttl({**discovery(), "max_tokens": 5}, "2h"))
    assert caught.value.api_message == "cache_control.ttl: Input should be '5m' or '1h'"


def test_an_entry_is_readable_only_once_the_response_writing_it_has_begun() -> None:
    timer = VirtualTimer()
    request = {**discovery(), "max_tokens": 5}
    results: dict[str, object] = {}

    def send(name: str) -> threading.Thread:
        thread = threading.Thread(target=lambda: results.__setitem__(name, usage_of(sim, request)))
        thread.start()
        return thread

    def wait_for_sleepers(count: int) -> None:
        deadline = time.monotonic() + 30
        while timer.sleeping < count:
            assert time.monotonic() < deadline, "the requests never reached their first token"
            time.sleep(0.005)

    with Simulator(speed=1, timer=timer) as sim:
        first = send("first")
        wait_for_sleepers(1)  # the first response waits for its first token
        second = send("second")
        wait_for_sleepers(2)
        with timer.autojump():
            first.join(60)
            second.join(60)
            results["third"] = usage_of(sim, request)
    first_usage, parallel, later = results["first"], results["second"], results["third"]
    assert first_usage.cache_creation_input_tokens > 0
    assert parallel.cache_read_input_tokens == 0, "sent before the first response began"
    assert parallel.cache_creation_input_tokens == first_usage.cache_creation_input_tokens
    assert later.cache_read_input_tokens == first_usage.cache_creation_input_tokens
