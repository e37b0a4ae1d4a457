"""Long names: what the plan schema accepts, the columns store, on DuckDB and PostgreSQL;
a model name over the limit is bad input at every front end, in one line."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from planner.auth import get_or_create_local_user
from planner.config import reset_settings
from planner.db import (
    Database,
    DiscoveryDocument,
    GenerationAttempt,
    MasterPlanRow,
    MilestoneRow,
    PhaseRow,
    SubtaskRow,
    TaskRow,
)
from planner.db.migrate import check
from planner.plan.parse import parse_discovery, parse_masterplan
from planner.plan.persist import save_discovery, store_masterplan
from planner.plan.request import MAX_MODEL_CHARS, GenerationRequest, GenerationRequestError
from tests.conftest import stored_generation
from tests.plan_samples import discovery_dict, plan_dict

LONG = "A very long name " * 18  # 306 characters, past every old VARCHAR(255)


def long_plan() -> dict:
    plan = plan_dict(phases=1, milestones_per_phase=1, tasks_per_milestone=2)
    plan["project_name"] = "Project " + LONG
    plan["architecture_style"] = "Style " + LONG
    phase = plan["phases"][0]
    phase["name"] = "Phase " + LONG
    phase["milestones"][0]["name"] = "Milestone " + LONG
    for task in phase["milestones"][0]["tasks"]:
        task["name"] = f"Task {task['task_number']} {LONG}"
        for subtask in task["subtasks"]:
            subtask["name"] = "Subtask " + LONG
    return plan


def test_a_plan_with_300_character_names_is_saved_whole(db: Database) -> None:
    user_id = get_or_create_local_user(db).id
    plan = parse_masterplan(json.dumps(long_plan()))
    assert len(plan.tasks()[0].name) > 300, "the schema accepts it"
    masterplan_id = store_masterplan(db, plan, user_id=user_id)
    discovery = parse_discovery(json.dumps({**discovery_dict(), "domain": "Domain " + LONG}))
    db.transaction(
        lambda c: save_discovery(
            c, discovery, user_id=user_id, generation_id=None, description="d", task_count=2
        )
    )
    with db.session() as session:
        row = session.get(MasterPlanRow, masterplan_id)
        assert row.project_name == plan.project_name
        assert row.architecture_style == plan.architecture_style
        names = {
            model: set(session.scalars(select(model.name)))
            for model in (PhaseRow, MilestoneRow, TaskRow, SubtaskRow)
        }
        assert names[PhaseRow] == {plan.phases[0].name}
        assert names[MilestoneRow] == {plan.milestones()[0].name}
        assert names[TaskRow] == {t.name for t in plan.tasks()}
        assert names[SubtaskRow] == {"Subtask " + LONG.strip()}
        assert session.scalar(select(DiscoveryDocument.domain)) == discovery.domain


def test_what_an_endpoint_writes_into_an_attempt_fits_whatever_its_length(
    db: Database,
) -> None:
    generation_id = stored_generation(db)
    odd = "x" * 1000
    with db.session() as session:
        session.add(
            GenerationAttempt(
                generation_id=generation_id,
                number=1,
                stage="masterplan",
                kind="stream",
                stop_reason=odd,
                error_type=odd,
                request_id=odd,
            )
        )
    with db.session() as session:
        attempt = session.scalars(select(GenerationAttempt)).one()
        assert (attempt.stop_reason, attempt.error_type, attempt.request_id) == (odd,) * 3


def test_postgresql_columns_become_text_and_come_back_truncated(postgres: Database) -> None:
    """0006 on PostgreSQL: before it a long name is refused, after it stored; down: cut."""
    user_id = get_or_create_local_user(postgres).id  # (this migrates to head: first)
    postgres.downgrade("0004")
    with pytest.raises(DBAPIError, match="value too long"):
        store_masterplan(postgres, parse_masterplan(json.dumps(long_plan())), user_id=user_id)
    postgres.upgrade()
    check(postgres)
    masterplan_id = store_masterplan(
        postgres, parse_masterplan(json.dumps(long_plan())), user_id=user_id
    )
    postgres.downgrade("0004")
    with postgres.connect() as connection:
        names = connection.execute(text("SELECT name FROM masterplan_tasks")).scalars().all()
        kept = connection.execute(
            text("SELECT count(*) FROM masterplans WHERE id = :id"), {"id": masterplan_id}
        ).scalar()
    assert kept == 1 and {len(name) for name in names} == {255}
    postgres.upgrade()
    check(postgres)


# ---- model names ----------------------------------------------------------------------


def request(model: str | None) -> GenerationRequest:
    return GenerationRequest("A bakery", uuid.UUID(int=0), model=model)


def test_a_model_name_over_the_limit_is_refused_in_one_line() -> None:
    assert request("m" * MAX_MODEL_CHARS).problems() == []
    [problem] = request("m" * (MAX_MODEL_CHARS + 1)).problems()
    assert problem == (
        "the model name has 129 characters; the limit is 128 "
        "(a name from the catalogue, e.g. claude-sonnet-5-5)"
    )
    with pytest.raises(GenerationRequestError, match="the limit is 128"):
        request("m" * 5000).validated()
    assert request("   ").problems() == ["the model name is empty"]


def test_the_cli_refuses_a_long_planner_model_before_storing_anything(
    run_cli,  # noqa: ANN001
    home_db: Database,
) -> None:
    result = run_cli("generate", "A bakery", "--speed", "0", PLANNER_MODEL="m" * 300)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "PLANNER_MODEL: the model name has 300 characters" in lines[0]
    assert "SQL" not in result.stderr and "Traceback" not in result.stderr
    home_db.ensure_schema()
    with home_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM generations")).scalar() == 0


def test_the_service_refuses_a_long_configured_model(
    service,  # noqa: ANN001
    home_db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANNER_MODEL", "m" * 200)
    reset_settings()
    user_id = get_or_create_local_user(home_db).id
    with pytest.raises(GenerationRequestError, match="PLANNER_MODEL: the model name has 200"):
        service.start(GenerationRequest("A bakery", user_id, speed=0.0))


def test_the_generate_form_refuses_a_long_model_name(
    home_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from planner.auth import create_user, issue_access_token
    from planner.dashboard.session import TOKEN_KEY
    from tests.test_dashboard_apptest import APP, texts

    monkeypatch.setenv("PLANNER_SOCKETIO_PORT", "0")
    reset_settings()
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[TOKEN_KEY] = issue_access_token(
        create_user(home_db, "alice", "correct horse battery")
    )
    at.run()
    at.text_area(key="gen_description").input("A bakery")
    at.text_input(key="gen_model").input("m" * 200)
    at.button(key="gen_start").click().run()
    assert not at.exception, at.exception
    shown = texts(at).replace("\\", "")  # the page shows it as text: Markdown escaped
    assert "the model name has 200 characters; the limit is 128" in shown
    assert "following_generation" not in at.session_state


@pytest.mark.anyio
async def test_socketio_refuses_a_model_field_and_a_long_configured_model(
    home_db: Database,
    service,  # noqa: ANN001
    clients: list,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from planner.events import EventBus
    from planner.realtime import start_in_thread
    from tests.realtime_support import connected, make_user

    _, token = make_user(home_db, "alice")
    handle = start_in_thread("127.0.0.1", 0, db=home_db, service=service, bus=EventBus())
    try:
        client = await connected(clients, handle, token)
        typed = await client.call("start_generation", {"description": "x", "model": "m" * 200})
        assert typed["error"]["code"] == "invalid_payload" and "model" in typed["error"]["message"]
        monkeypatch.setenv("PLANNER_MODEL", "m" * 200)
        reset_settings()
        configured = await client.call("start_generation", {"description": "A bakery"})
        message = configured["error"]["message"]
        assert configured["error"]["code"] == "invalid_payload"
        assert message.startswith("PLANNER_MODEL: the model name has 200") and "\n" not in message
    finally:
        handle.stop()
