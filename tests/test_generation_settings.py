"""Thinking, effort, answer format and output budget: chosen per stage, refused in words
where the model would refuse them, sent as the API takes them, stored with the generation."""

from __future__ import annotations

import json
import uuid

import pytest

from planner.catalog import lookup
from planner.db import Database, Generation
from planner.plan.prompts import (
    DISCOVERY_MAX_TOKENS,
    MASTERPLAN_MAX_TOKENS,
    THINKING_HEADROOM_TOKENS,
    discovery_request,
)
from planner.plan.settings import (
    GenerationSettings,
    SettingsError,
    StageSettings,
    settings_from_options,
)
from tests.conftest import planner_stderr


def test_planner_thinks_for_discovery_and_not_for_the_masterplan_where_the_model_allows() -> None:
    sonnet = GenerationSettings.planner_defaults(lookup("claude-sonnet-5-5"))
    assert sonnet.discovery == StageSettings("adaptive", "medium")
    assert sonnet.masterplan == StageSettings("off", None)
    always = GenerationSettings.planner_defaults(lookup("claude-opus-5-5"))
    assert always.masterplan == StageSettings("adaptive", "low")  # it cannot be turned off
    for quiet in ("claude-haiku-4-5", "claude-opus-4-7", None):  # non-thinking or unknown
        spec = lookup(quiet) if quiet else None
        assert GenerationSettings.planner_defaults(spec) == GenerationSettings()


def test_requests_carry_the_thinking_type_each_model_takes() -> None:
    sonnet = GenerationSettings.planner_defaults(lookup("claude-sonnet-5-5"))
    request = discovery_request("a shop", "claude-sonnet-5-5", sonnet)
    assert request["thinking"] == {"type": "adaptive"}
    assert request["output_config"] == {"effort": "medium"}
    assert request["max_tokens"] == DISCOVERY_MAX_TOKENS + THINKING_HEADROOM_TOKENS
    off = GenerationSettings(discovery=StageSettings("off"))
    # Sonnet 5.5 refuses `disabled` and takes `between_tools` instead; others `disabled`
    assert discovery_request("a shop", "claude-sonnet-5-5", off)["thinking"] == {
        "type": "between_tools"
    }
    assert discovery_request("a shop", "claude-sonnet-5", off)["thinking"] == {"type": "disabled"}
    plain = discovery_request("a shop", "claude-haiku-4-5", GenerationSettings())
    assert "thinking" not in plain and "output_config" not in plain
    assert plain["max_tokens"] == DISCOVERY_MAX_TOKENS


def test_json_schema_mode_sends_the_plan_schema_in_the_form_the_api_accepts() -> None:
    settings = GenerationSettings(output_format="json-schema")
    request = discovery_request("a shop", "claude-sonnet-5-5", settings)
    schema_format = request["output_config"]["format"]
    assert schema_format["type"] == "json_schema"
    schema = schema_format["schema"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert {"domain", "bounded_contexts", "services"} <= set(schema["properties"])
    json.dumps(schema)  # plain JSON, as it travels


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        ("claude-opus-5-5", {"thinking": "off"}, "always thinks: discovery thinking cannot be off"),
        ("claude-haiku-4-5", {"thinking": "adaptive"}, "has no adaptive thinking"),
        ("claude-sonnet-5-5", {"thinking": "budget:2048"}, "refuses manual thinking budgets"),
        ("claude-haiku-4-5", {"thinking": "budget:100"}, "at least 1,024 tokens"),
        ("claude-sonnet-5-5", {"thinking": "lots"}, "thinking 'lots' is not one of"),
        ("claude-sonnet-5-5", {"effort": "extreme"}, "effort 'extreme' is not one of"),
        (
            "claude-sonnet-5-5",
            {"thinking": "masterplan=off", "effort": "masterplan=max"},
            "turns thinking off only at low, medium or high effort",
        ),
        ("claude-sonnet-5-5", {"thinking": "review=off"}, "discovery=VALUE,masterplan=VALUE"),
        ("claude-sonnet-5-5", {"output_format": "yaml"}, "output format 'yaml'"),
        ("claude-sonnet-5-5", {"output_budget_tokens": 0}, "at least 1 token"),
    ],
)
def test_settings_a_model_would_refuse_are_refused_before_sending(
    model: str, options: dict, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        settings_from_options(lookup(model), **options)


def test_a_budget_at_or_above_max_tokens_is_refused() -> None:
    settings = GenerationSettings(discovery=StageSettings("budget:50000"))
    with pytest.raises(SettingsError, match="must be below the stage's max_tokens"):
        discovery_request("a shop", "claude-haiku-4-5", settings)


def test_per_stage_options_override_only_the_stage_named() -> None:
    chosen = settings_from_options(
        lookup("claude-sonnet-5-5"), thinking="masterplan=adaptive", effort="masterplan=low"
    )
    assert chosen.discovery == StageSettings("adaptive", "medium")
    assert chosen.masterplan == StageSettings("adaptive", "low")
    assert GenerationSettings.from_json(chosen.to_json()) == chosen
    assert GenerationSettings.from_json(None) == GenerationSettings()
    assert MASTERPLAN_MAX_TOKENS > DISCOVERY_MAX_TOKENS


def test_the_cli_stores_the_settings_with_the_generation_and_reports_them(
    invoke, home_db: Database
) -> None:
    result = invoke(
        "generate",
        "A tool library for a neighbourhood",
        "--speed",
        "0",
        "--thinking",
        "masterplan=adaptive",
        "--effort",
        "masterplan=low",
        "--output-budget",
        "90000",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    reported = json.loads(result.stdout)
    stored = home_db.in_session(
        lambda s: s.get(Generation, uuid.UUID(reported["generation_id"])).settings
    )
    assert stored == reported["settings"]
    assert stored["masterplan"] == {"thinking": "adaptive", "effort": "low"}
    assert stored["discovery"] == {"thinking": "adaptive", "effort": "medium"}
    assert stored["output_budget_tokens"] == 90000


def test_the_cli_refuses_settings_the_model_cannot_take_in_one_line(invoke) -> None:
    result = invoke("generate", "A shop", "--thinking", "off", PLANNER_MODEL="claude-opus-5-5")
    assert result.exit_code == 2
    [line] = planner_stderr(result)
    assert "claude-opus-5-5 always thinks" in line


def test_the_output_budget_spans_both_stages_and_ends_the_generation_clearly(
    db: Database,
) -> None:
    from planner.auth import get_or_create_local_user
    from planner.plan import GenerationRequest, run_generation

    user = get_or_create_local_user(db)
    settings = GenerationSettings(output_budget_tokens=600)  # less than one MasterPlan
    outcome = run_generation(
        db, GenerationRequest("A city bike-share", user.id, speed=0, settings=settings)
    )
    assert outcome.status == "failed"
    assert "budget" in (outcome.error or "")
    assert outcome.output_tokens <= 600
