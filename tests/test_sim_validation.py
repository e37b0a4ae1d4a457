"""Requests the API refuses are refused the same way: status, error type and message."""

from __future__ import annotations

from datetime import date
from typing import Any

import anthropic
import httpx2
import pytest

from planner import catalog
from planner.sim import Simulator
from planner.sim.validation import PREFILL_REFUSED, TRAILING_WHITESPACE
from tests.sim_helpers import MODEL, PREFILL_MODEL, client, plain_request, stream_text


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0) as running:
        yield running


def post(sim: Simulator, body: Any, **headers: str) -> httpx2.Response:
    return httpx2.post(
        f"{sim.base_url}/v1/messages", json=body, headers={"x-api-key": "x", **headers}
    )


@pytest.mark.parametrize("field", ["model", "max_tokens", "messages"])
def test_missing_required_field(sim: Simulator, field: str) -> None:
    body = plain_request()
    del body[field]
    response = post(sim, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error == {"type": "invalid_request_error", "message": f"{field}: Field required"}
    assert response.json()["request_id"] == response.headers["request-id"]


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        (
            [{"role": "system", "content": "hi"}],
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            [{"role": "assistant", "content": "hi"}],
            'messages: first message must use the "user" role',
        ),
        ([], "messages: at least one message is required"),
        ([{"role": "user"}], "messages.0.content: Field required"),
    ],
)
def test_bad_messages(sim: Simulator, messages: list, message: str) -> None:
    response = post(sim, {**plain_request(), "messages": messages})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message


def test_bad_max_tokens(sim: Simulator) -> None:
    assert post(sim, {**plain_request(), "max_tokens": 0}).status_code == 400
    haiku = plain_request(model=PREFILL_MODEL, max_tokens=100_000)
    too_many = post(sim, haiku).json()["error"]["message"]
    assert too_many.startswith("max_tokens: 100000 > 64000")


@pytest.mark.parametrize(
    ("model", "cap"), [("claude-sonnet-5-5", 128_000), (PREFILL_MODEL, 64_000)]
)
def test_each_model_has_its_catalogued_output_cap(sim: Simulator, model: str, cap: int) -> None:
    off = catalog.lookup(model).thinking_off_type  # no thinking: the cap is all text
    request = {**plain_request(max_tokens=cap), "model": model, "thinking": {"type": off}}
    assert post(sim, request).status_code == 200
    with pytest.raises(anthropic.BadRequestError) as caught:
        stream_text(client(sim.base_url), {**request, "max_tokens": cap + 1})
    assert caught.value.api_message == (
        f"max_tokens: {cap + 1} > {cap}, which is the maximum allowed number of output "
        f"tokens for {model}"
    )


@pytest.mark.parametrize("model", ["gpt-4", "claude-sonnet-9-9", "claude-opus-4-1"])
def test_a_model_the_catalogue_lacks_is_not_found(sim: Simulator, model: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client(sim.base_url).messages.create(**{**plain_request(), "model": model})
    assert caught.value.type == "not_found_error"
    assert caught.value.api_message == f"model: {model}"


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"])
def test_a_retired_model_is_not_found_any_more(sim: Simulator, model: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client(sim.base_url).messages.create(**{**plain_request(), "model": model})
    assert caught.value.api_message == f"model: {model}"


def test_a_prompt_longer_than_the_context_window_is_refused(sim: Simulator) -> None:
    long_prompt = "word " * 210_000  # haiku 4.5: a 200K window
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(sim.base_url).messages.create(**plain_request(long_prompt, model=PREFILL_MODEL))
    assert caught.value.api_message.startswith("prompt is too long: ")
    assert caught.value.api_message.endswith(" tokens > 200000 maximum")


def test_max_tokens_past_the_window_stops_where_the_window_is_full(sim: Simulator) -> None:
    window, sdk = 200_000, client(sim.base_url)

    def tokens(text: str) -> int:
        messages = [{"role": "user", "content": text}]
        return sdk.messages.count_tokens(model=PREFILL_MODEL, messages=messages).input_tokens

    per_word = (tokens("word " * 2000) - tokens("word " * 1000)) / 1000
    prompt = "word " * 199_000
    prompt += "word " * int((window - 12 - tokens(prompt)) / per_word)
    prompt_tokens = tokens(prompt)
    assert 0 < window - prompt_tokens < 40
    request = plain_request(prompt, max_tokens=64_000, model=PREFILL_MODEL)
    _, message = stream_text(client(sim.base_url), request)
    assert message.stop_reason == "model_context_window_exceeded"
    assert message.usage.output_tokens == window - prompt_tokens


def test_invalid_json_body(sim: Simulator) -> None:
    response = httpx2.post(
        f"{sim.base_url}/v1/messages",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def prefilled(model: str, prefix: str) -> dict[str, Any]:
    return {
        **plain_request(),
        "model": model,
        "messages": [*plain_request()["messages"], {"role": "assistant", "content": prefix}],
    }


def test_trailing_whitespace_in_the_final_assistant_message_is_refused(sim: Simulator) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(sim.base_url).messages.create(**prefilled(PREFILL_MODEL, "Here is the start "))
    assert caught.value.api_message == TRAILING_WHITESPACE


@pytest.mark.parametrize(
    "model", ["claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7", "claude-sonnet-5-5"]
)
def test_prefill_is_refused_where_the_catalogue_says_so(sim: Simulator, model: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        stream_text(client(sim.base_url), prefilled(model, "Good"))
    assert caught.value.api_message == PREFILL_REFUSED
    assert caught.value.type == "invalid_request_error"


@pytest.mark.parametrize(
    "model", ["claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-opus-4-5"]
)
def test_prefill_is_accepted_where_the_catalogue_says_so(sim: Simulator, model: str) -> None:
    full, _ = stream_text(client(sim.base_url), {**plain_request(), "model": model})
    prefix = full[: len(full) // 2].rstrip()
    rest, message = stream_text(client(sim.base_url), prefilled(model, prefix))
    assert message.stop_reason == "end_turn"
    assert prefix + rest == full


def test_a_follow_up_user_turn_is_fine_on_new_models(sim: Simulator) -> None:
    request = {
        **plain_request(),
        "model": "claude-opus-4-6",
        "messages": [
            {"role": "user", "content": "Say something"},
            {"role": "assistant", "content": "Something"},
            {"role": "user", "content": "Continue"},
        ],
    }
    _, message = stream_text(client(sim.base_url), request)
    assert message.stop_reason == "end_turn"


def test_wrong_api_key_is_refused_when_the_simulator_has_one() -> None:
    with Simulator(speed=0, api_key="secret") as sim:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            client(sim.base_url).messages.create(**plain_request())
        assert caught.value.type == "authentication_error"
        good = anthropic.Anthropic(api_key="secret", base_url=sim.base_url, max_retries=0)
        assert good.messages.create(**plain_request()).stop_reason == "end_turn"
        bearer = anthropic.Anthropic(auth_token="secret", base_url=sim.base_url, max_retries=0)
        assert bearer.messages.create(**plain_request()).stop_reason == "end_turn"


def test_any_key_is_accepted_without_one(sim: Simulator) -> None:
    sdk = anthropic.Anthropic(api_key="anything", base_url=sim.base_url, max_retries=0)
    assert sdk.messages.create(**plain_request()).stop_reason == "end_turn"


def test_count_tokens_endpoint(sim: Simulator) -> None:
    sdk = client(sim.base_url)
    counted = sdk.messages.count_tokens(model=MODEL, messages=plain_request()["messages"])
    created = sdk.messages.create(**plain_request())
    assert counted.input_tokens == created.usage.input_tokens


def test_a_model_is_served_until_its_end_of_life_date() -> None:
    with Simulator(speed=0, today=lambda: date(2026, 11, 29)) as before:
        _, message = stream_text(client(before.base_url), plain_request(model="claude-sonnet-4-5"))
    assert message.stop_reason == "end_turn"
    after = Simulator(speed=0, today=lambda: date(2026, 11, 30))
    with after, pytest.raises(anthropic.NotFoundError):
        client(after.base_url).messages.create(**plain_request(model="claude-sonnet-4-5"))
