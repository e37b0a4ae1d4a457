"""Parsing model answers: fences and prose stripped, schema and consistency as one error list."""

from __future__ import annotations

import json

import pytest

from planner.plan.parse import (
    PlanParseError,
    extract_json,
    load_masterplan,
    parse_discovery,
    parse_masterplan,
)
from tests.plan_samples import discovery_dict, plan_dict, plan_text


def test_a_clean_plan_parses_with_its_counts() -> None:
    plan = parse_masterplan(plan_text(phases=3, milestones_per_phase=2, tasks_per_milestone=2))
    assert plan.counts() == {"phases": 3, "milestones": 6, "tasks": 12, "subtasks": 24}
    assert plan.tasks()[4].depends_on == [4]


@pytest.mark.parametrize(
    "wrapped",
    [
        "```json\n{body}\n```",
        "Here is the plan you asked for:\n\n```\n{body}\n```\nLet me know if you need more.",
        "Sure! {body}\nThat is the whole plan.",
        "  \n{body}\n\n",
    ],
)
def test_fences_and_prose_around_the_json_are_ignored(wrapped: str) -> None:
    text = wrapped.replace("{body}", plan_text())
    assert parse_masterplan(text).project_name == "Gear Swap"


def test_discovery_parses_and_needs_a_bounded_context() -> None:
    assert parse_discovery(json.dumps(discovery_dict())).domain == "outdoor gear resale"
    broken = {**discovery_dict(), "bounded_contexts": []}
    with pytest.raises(PlanParseError) as caught:
        parse_discovery(json.dumps(broken))
    assert caught.value.errors == [
        "bounded_contexts: List should have at least 1 item after validation, not 0"
    ]


def test_a_truncated_answer_is_reported_as_truncated() -> None:
    text = plan_text()[:1500]
    with pytest.raises(PlanParseError) as caught:
        parse_masterplan(text)
    (error,) = caught.value.errors
    assert "truncated answer" in error and "before the object is closed" in error
    assert str(caught.value).startswith("the MasterPlan answer is invalid: the JSON stops after")


def test_broken_json_names_the_line_and_column() -> None:
    text = '{\n  "project_name": "x",\n  "phases": [1,,2]\n}'
    with pytest.raises(PlanParseError) as caught:
        extract_json(text, "MasterPlan")
    assert caught.value.errors == ["invalid JSON at line 3 column 16: Expecting value"]


def test_no_json_at_all() -> None:
    with pytest.raises(PlanParseError, match="no JSON object found in the answer"):
        parse_discovery("I cannot help with that.")


def test_schema_errors_name_the_field_path() -> None:
    data = plan_dict()
    del data["phases"][1]["milestones"][0]["tasks"][2]["name"]
    data["phases"][0]["milestones"][1]["tasks"][0]["complexity"] = "impossible"
    with pytest.raises(PlanParseError) as caught:
        parse_masterplan(json.dumps(data))
    errors = caught.value.errors
    assert "phases[1].milestones[0].tasks[2].name: Field required" in errors
    assert any(
        e.startswith("phases[0].milestones[1].tasks[0].complexity: Input should be") for e in errors
    )


def test_consistency_errors_all_come_back_together() -> None:
    data = plan_dict()
    tasks = [t for p in data["phases"] for m in p["milestones"] for t in m["tasks"]]
    tasks[3]["task_number"] = 9
    tasks[5]["depends_on"] = [42]
    tasks[0]["depends_on"] = [2]
    data["total_tasks"] = 99
    plan = load_masterplan(json.dumps(data))
    with pytest.raises(PlanParseError) as caught:
        parse_masterplan(json.dumps(data))
    errors = caught.value.errors
    assert plan.total_tasks == 99
    assert any(e.startswith("tasks must be numbered 1..12 in order") for e in errors)
    assert "task 6 depends on unknown tasks [42]" in errors
    assert "dependency cycle: 1 -> 2 -> 1" in errors
    assert "total_tasks says 99 but the plan has 12" in errors


def test_a_long_error_list_is_shortened_in_the_message_but_kept_whole() -> None:
    data = plan_dict(phases=2, milestones_per_phase=3, tasks_per_milestone=5)
    for phase in data["phases"]:
        for milestone in phase["milestones"]:
            for task in milestone["tasks"]:
                task["depends_on"] = [500 + task["task_number"]]
    with pytest.raises(PlanParseError) as caught:
        parse_masterplan(json.dumps(data))
    assert len(caught.value.errors) == 30
    assert str(caught.value).endswith("; and 10 more")
