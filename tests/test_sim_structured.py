"""Structured outputs on the simulator through the real SDK: the answer is JSON that fits the
schema, and what the API refuses (prefill with a schema, unsupported schema features) is
refused with its 400."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest

from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator
from planner.sim.structured import PREFILL_WITH_SCHEMA
from tests.sim_helpers import PREFILL_MODEL, client, discovery, plain_request, stream_text

SUMMARY = {
    "type": "object",
    "properties": {
        "domain": {"type": "string"},
        "summary": {"type": "string"},
        "risks": {"type": "array", "items": {"type": "string"}},
        "confidence": {"type": "integer"},
    },
    "required": ["domain", "summary", "risks", "confidence"],
    "additionalProperties": False,
}


def with_schema(request: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return {**request, "output_config": {"format": {"type": "json_schema", "schema": schema}}}


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


def test_the_answer_is_the_model_s_json_fitted_to_the_schema(sim: Simulator) -> None:
    plain, _ = stream_text(client(sim.base_url), discovery())
    text, message = stream_text(client(sim.base_url), with_schema(discovery(), SUMMARY))
    answer, original = json.loads(text), json.loads(plain)
    assert set(answer) == {"domain", "summary", "risks", "confidence"}
    assert (answer["domain"], answer["summary"], answer["risks"]) == (
        original["domain"],
        original["summary"],
        original["risks"],
    ), "what the model wrote and the schema allows is kept"
    assert isinstance(answer["confidence"], int)
    assert message.stop_reason == "end_turn" and not text.startswith("```")


def test_prose_becomes_an_instance_of_the_schema(sim: Simulator) -> None:
    text, _ = stream_text(client(sim.base_url), with_schema(plain_request(), SUMMARY))
    answer = json.loads(text)
    assert set(answer) == set(SUMMARY["required"]) and isinstance(answer["risks"], list)


def test_a_continuation_under_a_schema_continues_the_fitted_answer(sim: Simulator) -> None:
    request = with_schema(discovery(), SUMMARY)
    full, _ = stream_text(client(sim.base_url), request)
    request["messages"] = [
        *request["messages"],
        {"role": "assistant", "content": full[: len(full) // 2]},
        {"role": "user", "content": "Continue."},
    ]
    rest, _ = stream_text(client(sim.base_url), request)
    assert full[len(full) // 2 - 60 :].find(rest[:30]) >= 0


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({**SUMMARY, "additionalProperties": True}, "must set 'additionalProperties' to false"),
        (
            {
                **SUMMARY,
                "properties": {
                    **SUMMARY["properties"],
                    "confidence": {"type": "integer", "minimum": 0},
                },
            },
            "'minimum' is not supported",
        ),
        (
            {
                "type": "object",
                "properties": {"child": {"$ref": "#/$defs/node"}},
                "additionalProperties": False,
                "$defs": {
                    "node": {
                        "type": "object",
                        "properties": {"child": {"$ref": "#/$defs/node"}},
                        "additionalProperties": False,
                    }
                },
            },
            "recursive schemas are not supported",
        ),
        ({**SUMMARY, "properties": {"r": {"type": "array", "minItems": 3}}}, "'minItems' values"),
        ({"$ref": "https://example.com/schema.json"}, "external $ref"),
    ],
)
def test_unsupported_schema_features_are_refused(
    sim: Simulator, schema: dict, message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(sim.base_url).messages.create(**with_schema(plain_request(max_tokens=50), schema))
    assert message in caught.value.api_message


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            {**SUMMARY, "properties": {**SUMMARY["properties"], "domain": {"type": "strng"}}},
            "output_config.format.schema.properties.domain.type: not a valid JSON Schema: "
            "'strng' is not valid under any of the given schemas",
        ),
        (
            {**SUMMARY, "required": "domain"},
            "output_config.format.schema.required: not a valid JSON Schema: "
            "'domain' is not of type 'array'",
        ),
        (
            {**SUMMARY, "properties": ["domain"]},
            "output_config.format.schema.properties: not a valid JSON Schema: "
            "['domain'] is not of type 'object'",
        ),
    ],
)
def test_a_schema_that_is_not_json_schema_is_refused_with_where(
    sim: Simulator, schema: dict, message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(sim.base_url).messages.create(**with_schema(plain_request(max_tokens=50), schema))
    assert caught.value.status_code == 400
    assert caught.value.api_message == message


def test_a_format_other_than_json_schema_is_refused(sim: Simulator) -> None:
    request = {**plain_request(max_tokens=50), "output_config": {"format": {"type": "json"}}}
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(sim.base_url).messages.create(**request)
    assert caught.value.api_message == "output_config.format.type: Input should be 'json_schema'"


def test_a_prefill_with_a_schema_is_refused(sim: Simulator) -> None:
    request = with_schema(plain_request(model=PREFILL_MODEL, max_tokens=50), SUMMARY)
    request["messages"] = [*request["messages"], {"role": "assistant", "content": '{"domain":'}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(sim.base_url).messages.create(**request)
    assert caught.value.api_message == PREFILL_WITH_SCHEMA
