"""The client as other parts of planner use it: endpoint selection from the settings,
aborting from a callback, and closing."""

from __future__ import annotations

import pytest
from llm_helpers import generate, make_client
from sim_helpers import discovery

from planner.config import Settings
from planner.llm import REGISTRY, STRATEGIES, ResilientClient
from planner.llm import make_client as make_configured_client
from planner.sim import Simulator, embedded_simulator


def settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"PLANNER_HOME": str(tmp_path), **env})


def test_without_a_key_the_embedded_simulator_answers(tmp_path) -> None:
    client = make_configured_client(settings(tmp_path), "none")
    assert str(client.sdk.base_url).rstrip("/") == embedded_simulator().base_url
    # The embedded simulator runs at real pace: ask for a few tokens only.
    result = client.generate({**discovery(), "max_tokens": 12})
    assert result.text and result.stop_reason == "max_tokens"
    assert result.attempts[0].request_id.startswith("req_")


def test_a_base_url_without_a_key_is_an_external_simulator(tmp_path) -> None:
    with Simulator(speed=0) as external:
        client = make_configured_client(
            settings(tmp_path, ANTHROPIC_BASE_URL=external.base_url), "restart"
        )
        assert generate(client, discovery()).complete
        assert external.stats()["messages"] == 1


def test_with_a_key_the_configured_endpoint_is_used_with_no_sdk_retries(tmp_path) -> None:
    client = make_configured_client(
        settings(tmp_path, ANTHROPIC_API_KEY="sk-test", ANTHROPIC_BASE_URL="https://api.example"),
        "none",
        read_timeout_s=42,
    )
    assert client.sdk.api_key == "sk-test"
    assert str(client.sdk.base_url).startswith("https://api.example")
    assert client.sdk.max_retries == 0, "planner owns and records every retry"
    assert client.sdk.timeout.read == 42
    client.close()


def test_every_registered_strategy_builds_a_client() -> None:
    assert STRATEGIES == tuple(REGISTRY) == ("none", "hybrid", "restart", "resume")
    for name in STRATEGIES:
        assert ResilientClient(api_key="x", base_url="http://127.0.0.1:9", strategy=name)


class Cancelled(Exception):
    pass


def test_an_exception_from_a_callback_aborts_the_generation(tmp_path) -> None:
    with Simulator(speed=0) as sim:
        seen = []

        def stop_after_some(chunk) -> None:
            seen.append(chunk)
            if len(seen) == 10:
                raise Cancelled

        with make_client(sim.base_url, "resume") as client, pytest.raises(Cancelled):
            generate(client, discovery(), on_chunk=stop_after_some)
        assert len(seen) == 10
        assert sim.stats()["messages"] == 1, "not retried: the caller stopped it"
