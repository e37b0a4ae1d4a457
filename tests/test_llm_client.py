"""The client as other parts of planner use it: built explicitly for an endpoint (the
endpoint rule lives in planner.plan.endpoint, not in the client), with an injected SDK,
aborting from a callback, and closing."""

from __future__ import annotations

import ssl

import anthropic
import httpx2
import pytest

from planner.config import Settings
from planner.llm import REGISTRY, STRATEGIES, ResilientClient
from planner.llm.tls import shared_ssl_context
from planner.plan.endpoint import embedded_simulator, endpoint_for
from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator
from tests.llm_helpers import generate, make_client
from tests.sim_helpers import discovery


def settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"PLANNER_HOME": str(tmp_path), **env})


def client_for(settings: Settings, strategy: str) -> ResilientClient:
    endpoint = endpoint_for(settings, faults="none")
    return ResilientClient(api_key=endpoint.api_key, base_url=endpoint.base_url, strategy=strategy)


def test_a_client_built_for_the_embedded_simulator_gets_an_answer(tmp_path) -> None:
    client = client_for(settings(tmp_path), "none")
    assert str(client.sdk.base_url).rstrip("/") == embedded_simulator().base_url
    # The embedded simulator runs at real pace: ask for a few tokens only.
    result = client.generate({**discovery(), "max_tokens": 12})
    assert result.text and result.stop_reason == "max_tokens"
    assert result.attempts[0].request_id.startswith("req_")


def test_a_client_built_for_an_external_simulator_sends_it_every_request(tmp_path) -> None:
    with Simulator(speed=0, model=PLANNING_MODEL) as external:
        client = client_for(settings(tmp_path, ANTHROPIC_BASE_URL=external.base_url), "restart")
        assert generate(client, discovery()).complete
        assert external.stats()["messages"] == 1


def test_the_sdk_it_builds_has_the_given_key_url_and_timeout_and_no_retries() -> None:
    client = ResilientClient(
        api_key="sk-test", base_url="https://api.example", strategy="none", read_timeout_s=42
    )
    assert client.sdk.api_key == "sk-test"
    assert str(client.sdk.base_url).startswith("https://api.example")
    assert client.sdk.max_retries == 0, "planner owns and records every retry"
    assert client.sdk.timeout.read == 42
    client.close()
    assert client.sdk.is_closed()


def test_an_injected_sdk_is_used_with_planner_retries_and_timeouts_and_left_open() -> None:
    with Simulator(speed=0, model=PLANNING_MODEL) as sim:
        sdk = anthropic.Anthropic(api_key="x", base_url=sim.base_url, max_retries=5)
        with ResilientClient(sdk=sdk, strategy="none", read_timeout_s=7) as client:
            assert client.sdk.max_retries == 0 and client.sdk.timeout.read == 7
            assert generate(client, discovery()).complete
        assert not sdk.is_closed(), "the caller's SDK client is the caller's to close"
        assert sdk.max_retries == 5, "the caller's SDK client is not changed"
        sdk.close()


def test_an_injected_sdk_excludes_the_arguments_that_would_build_one() -> None:
    sdk = anthropic.Anthropic(api_key="x", base_url="http://127.0.0.1:9")
    with pytest.raises(TypeError, match="either sdk="):
        ResilientClient(sdk=sdk, base_url="http://127.0.0.1:9")
    with pytest.raises(TypeError, match="either sdk="):
        ResilientClient(sdk=sdk, http_client=httpx2.Client())
    sdk.close()


def test_an_injected_http_client_carries_the_requests_and_is_closed_with_the_client() -> None:
    with Simulator(speed=0, model=PLANNING_MODEL) as sim:
        http_client = httpx2.Client()
        with ResilientClient(
            api_key="x", base_url=sim.base_url, strategy="none", http_client=http_client
        ) as client:
            assert client.sdk.max_retries == 0
            assert generate(client, discovery()).complete
        assert http_client.is_closed, "the SDK closes the HTTP client it was given"


def test_every_registered_strategy_builds_a_client() -> None:
    assert STRATEGIES == tuple(REGISTRY) == ("none", "hybrid", "restart", "resume")
    for name in STRATEGIES:
        assert ResilientClient(api_key="x", base_url="http://127.0.0.1:9", strategy=name)


class Cancelled(Exception):
    pass


def test_an_exception_from_a_callback_aborts_the_generation() -> None:
    with Simulator(speed=0, model=PLANNING_MODEL) as sim:
        seen = []

        def stop_after_some(chunk) -> None:
            seen.append(chunk)
            if len(seen) == 10:
                raise Cancelled

        with make_client(sim.base_url, "resume") as client, pytest.raises(Cancelled):
            generate(client, discovery(), on_chunk=stop_after_some)
        assert len(seen) == 10
        assert sim.stats()["messages"] == 1, "not retried: the caller stopped it"


def test_planners_clients_share_one_tls_context_that_still_verifies() -> None:
    """Every client used to load the CA bundle again (17 ms of CPU per generation); the
    shared context must keep httpx's default checks."""
    context = shared_ssl_context()
    assert context is shared_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0, "the system's CA bundle is loaded"
