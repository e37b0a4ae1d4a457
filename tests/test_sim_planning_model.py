"""planner's planning model as the simulator serves it: valid plans sized like real ones,
determinism, and planner's own continuation and repair rounds."""

from __future__ import annotations

import json

import pytest

from planner.plan.model import PLANNING_MODEL
from planner.plan.prompts import REPAIR_OPENING, repair_request, task_count_for
from planner.plan.schema import Discovery, MasterPlan, consistency_errors
from planner.sim import Simulator
from planner.sim.conversation import MAX_OVERLAP_CHARS, MIN_OVERLAP_CHARS, Responder
from planner.tokens import count_tokens
from tests.sim_helpers import (
    DESCRIPTION,
    MODEL,
    PREFILL_MODEL,
    client,
    discovery,
    plan_request,
    stream_text,
)

NEW_MODEL = "claude-opus-4-6"
RESPONDER = Responder(PLANNING_MODEL)


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


def text_of(request: dict, seed: int = 0) -> str:
    return RESPONDER.answer(request, seed).text


def test_discovery_is_valid_and_named_after_the_description(sim: Simulator) -> None:
    text, message = stream_text(client(sim.base_url), discovery())
    assert message.stop_reason == "end_turn"
    found = Discovery.model_validate_json(text)
    assert "marketplace" in found.domain
    assert any("Camping" in context.name for context in found.bounded_contexts)
    assert 8 <= task_count_for(found) <= 120


@pytest.mark.parametrize("task_count", [8, 37, 120])
def test_masterplan_validates_with_exactly_the_requested_tasks(task_count: int) -> None:
    plan = MasterPlan.model_validate_json(text_of(plan_request(task_count)))
    assert consistency_errors(plan) == []
    assert plan.counts()["tasks"] == task_count
    assert plan.counts()["subtasks"] >= task_count
    assert all(dep < task.task_number for task in plan.tasks() for dep in task.depends_on)
    assert any(task.depends_on for task in plan.tasks())
    assert {"backend", "frontend", "database", "infrastructure"} <= set(plan.tech_stack)
    assert "Marketplace" in plan.project_name
    assert all(task.target_files for task in plan.tasks())
    assert len({task.complexity for task in plan.tasks()}) >= 3


def test_a_120_task_plan_is_about_as_long_as_a_real_one() -> None:
    tokens = count_tokens(text_of(plan_request(120)))
    assert 14_000 <= tokens <= 21_000
    # and it scales with the task count
    assert count_tokens(text_of(plan_request(30))) < tokens / 3


def test_the_plan_streams_through_the_sdk_and_validates(sim: Simulator) -> None:
    text, message = stream_text(client(sim.base_url), plan_request(40))
    plan = MasterPlan.model_validate(json.loads(text))
    assert consistency_errors(plan) == [] and plan.total_tasks == 40
    assert message.usage.output_tokens == count_tokens(text)


def test_plain_prompts_get_plain_text() -> None:
    text = text_of(
        {"model": MODEL, "messages": [{"role": "user", "content": "Tell me about tents"}]}
    )
    assert "tents" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_same_request_and_seed_same_text_other_seed_other_text() -> None:
    request = plan_request(20)
    assert text_of(request, seed=1) == text_of(request, seed=1)
    assert text_of(request, seed=1) != text_of(request, seed=2)
    MasterPlan.model_validate_json(text_of(request, seed=2))


def test_the_answer_does_not_depend_on_max_tokens() -> None:
    assert text_of(plan_request(20)) == text_of({**plan_request(20), "max_tokens": 10})


def test_max_tokens_truncates_with_stop_reason_max_tokens(sim: Simulator) -> None:
    full = text_of(plan_request(20))
    text, message = stream_text(client(sim.base_url), {**plan_request(20), "max_tokens": 300})
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 300 == count_tokens(text)
    assert full.startswith(text)


def test_prefill_continues_exactly_after_the_given_text(sim: Simulator) -> None:
    full = text_of(plan_request(20, PREFILL_MODEL))
    prefix = full[:5000].rstrip()
    request = plan_request(20, PREFILL_MODEL)
    request["messages"] = [*request["messages"], {"role": "assistant", "content": prefix}]
    rest, message = stream_text(client(sim.base_url), request)
    assert prefix + rest == full
    assert message.usage.output_tokens == count_tokens(rest)


def continuation(partial: str, model: str = NEW_MODEL) -> dict:
    request = plan_request(20, model=model)
    request["messages"] = [
        *request["messages"],
        {"role": "assistant", "content": partial},
        {"role": "user", "content": "Your answer was cut off. Continue exactly where it stopped."},
    ]
    return request


@pytest.mark.parametrize("cut", [40, 2345, 6000])
def test_continuation_turn_repeats_a_short_overlap_the_client_must_remove(
    sim: Simulator, cut: int
) -> None:
    full = text_of(plan_request(20, model=NEW_MODEL))
    partial = full[:cut]
    resumed, message = stream_text(client(sim.base_url), continuation(partial))
    assert message.stop_reason == "end_turn"
    overlap = len(partial) + len(resumed) - len(full)
    assert MIN_OVERLAP_CHARS <= overlap <= MAX_OVERLAP_CHARS
    assert partial.endswith(resumed[:overlap])
    assert partial + resumed[overlap:] == full


def test_continuation_overlap_is_deterministic() -> None:
    partial = text_of(plan_request(20, model=NEW_MODEL))[:3000]
    assert text_of(continuation(partial)) == text_of(continuation(partial))


def test_continuation_finds_the_cut_from_the_tail_of_the_last_part() -> None:
    full = text_of(plan_request(20, model=NEW_MODEL))
    # a client that sends only the last piece it received still gets a resumable answer
    resumed = text_of(continuation(full[1000:4000]))
    overlap = 4000 + len(resumed) - len(full)
    assert MIN_OVERLAP_CHARS <= overlap <= MAX_OVERLAP_CHARS


def test_the_repair_round_gets_the_clean_full_answer(sim: Simulator) -> None:
    request = plan_request(20)
    full = text_of(request)
    repaired, _ = stream_text(
        client(sim.base_url), repair_request(request, full[:900] + " oops", ["truncated JSON"])
    )
    assert repair_request(request, "x", ["e"])["messages"][-1]["content"].startswith(REPAIR_OPENING)
    assert repaired == full
    MasterPlan.model_validate_json(repaired)


def test_masterplan_uses_the_discovery_it_is_given() -> None:
    plan = MasterPlan.model_validate_json(text_of(plan_request(30)))
    names = " ".join(phase.name for phase in plan.phases)
    assert "Rentals" in names and "Payments" in names
    assert DESCRIPTION.startswith(plan.description)


@pytest.mark.parametrize(
    "description",
    [
        "todo",
        "",
        "Ein Buchungssystem für Ärzte mit Terminen und Rechnungen",
        "An IoT fleet telemetry pipeline: ingest, alerting, dashboards, billing, audit, export",
    ],
)
@pytest.mark.parametrize("task_count", [1, 2, 3, 9, 150])
def test_any_description_and_task_count_gives_a_valid_plan(
    description: str, task_count: int
) -> None:
    request = plan_request(task_count)
    content = request["messages"][0]["content"]
    request["messages"][0]["content"] = content.replace(DESCRIPTION, description)
    plan = MasterPlan.model_validate_json(text_of(request))
    assert consistency_errors(plan) == [] and plan.total_tasks == task_count
    found = Discovery.model_validate_json(text_of({**discovery(), "messages": request["messages"]}))
    assert found.bounded_contexts


def test_a_masterplan_prompt_without_a_discovery_still_gets_a_valid_plan() -> None:
    request = plan_request(12)
    request["messages"][0]["content"] = (
        f"<project_description>\n{DESCRIPTION}\n</project_description>\n"
        "<discovery>\nnot json\n</discovery>\nThe plan must contain exactly 12 tasks."
    )
    plan = MasterPlan.model_validate_json(text_of(request))
    assert consistency_errors(plan) == [] and plan.total_tasks == 12


def test_stop_sequences_end_the_answer_before_them(sim: Simulator) -> None:
    full = text_of(plan_request(20))
    request = {**plan_request(20), "stop_sequences": ['"milestone_number"', "never there"]}
    text, message = stream_text(client(sim.base_url), request)
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == '"milestone_number"'
    assert text == full[: full.index('"milestone_number"')]
    created = client(sim.base_url).messages.create(**{**request, "max_tokens": 8000})
    assert created.stop_sequence == '"milestone_number"'
    assert created.content[0].text == text
