"""A model is checked before anything is sent: retired refused with its replacement named,
deprecated warned once, and with a real key the Models API asked once per process."""

from __future__ import annotations

import logging

import anthropic
import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from planner.db import Database, Generation
from planner.errors import ServiceUnavailable
from planner.plan import model_check
from planner.plan.endpoint import Endpoint
from planner.plan.model_check import ModelNotServed, verify_model
from tests.conftest import planner_stderr

REAL_API = Endpoint(None, "sk-ant-test", simulated=False)


@pytest.fixture(autouse=True)
def fresh_process_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a new process as far as the once-per-process memory goes."""
    monkeypatch.setattr(model_check, "_verified", set())
    monkeypatch.setattr(model_check, "_warned", set())


def models_api(known: set[str], asked: list[str]):  # noqa: ANN201
    """The real SDK's `models.retrieve` against a Models API that serves `known`."""

    def answer(request: httpx.Request) -> httpx.Response:
        model = request.url.path.rsplit("/", 1)[-1]
        asked.append(model)
        if model in known:
            body = {
                "type": "model",
                "id": model,
                "display_name": model,
                "created_at": "2026-09-28T00:00:00Z",
            }
            return httpx.Response(200, json=body)
        error = {"type": "not_found_error", "message": f"model: {model}"}
        return httpx.Response(404, json={"type": "error", "error": error})

    def retrieve(endpoint: Endpoint, model: str) -> None:
        with httpx.Client(transport=httpx.MockTransport(answer)) as http:
            sdk = anthropic.Anthropic(api_key=endpoint.api_key, http_client=http, max_retries=0)
            sdk.models.retrieve(model)

    return retrieve


def test_a_retired_model_is_refused_from_the_cli_before_any_row_is_written(
    invoke, home_db: Database
) -> None:
    result = invoke("generate", "A bakery's ordering site", PLANNER_MODEL="claude-sonnet-4-5")
    assert result.exit_code == 2, result.output
    [line] = planner_stderr(result)
    assert "claude-sonnet-4-5 reached end of life on 2026-11-30" in line
    assert "use claude-sonnet-5-5 instead" in line
    home_db.ensure_schema()
    assert home_db.in_session(lambda s: s.scalar(select(func.count()).select_from(Generation))) == 0


def test_a_deprecated_model_gets_one_warning_line_per_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulated = Endpoint("http://127.0.0.1:1", "x", simulated=True)
    with caplog.at_level(logging.WARNING, logger="planner.plan.model_check"):
        for _ in range(3):
            assert verify_model(simulated, "claude-opus-4-5").known
    [record] = caplog.records
    assert "claude-opus-4-5 is deprecated and reaches end of life on 2027-01-22" in record.message
    assert "move to claude-opus-5-5" in record.message


def test_with_a_real_key_the_models_api_is_asked_once_per_process_and_model() -> None:
    asked: list[str] = []
    retrieve = models_api({"claude-sonnet-5-5", "claude-sonnet-9"}, asked)
    for _ in range(3):
        verify_model(REAL_API, "claude-sonnet-5-5", retrieve=retrieve)
    unknown = verify_model(REAL_API, "claude-sonnet-9", retrieve=retrieve)
    assert not unknown.known  # the catalogue does not know it; the API serves it: accepted
    assert asked == ["claude-sonnet-5-5", "claude-sonnet-9"]


def test_a_model_the_api_does_not_serve_is_refused_in_words() -> None:
    asked: list[str] = []
    with pytest.raises(ModelNotServed, match="the API does not serve model 'claude-made-up'"):
        verify_model(REAL_API, "claude-made-up", retrieve=models_api(set(), asked))
    assert asked == ["claude-made-up"]


def test_a_models_api_that_cannot_be_reached_is_a_service_problem_not_a_bad_model() -> None:
    def unreachable(endpoint: Endpoint, model: str) -> None:
        raise anthropic.APIConnectionError(request=httpx.Request("GET", "https://x/v1/models"))

    with pytest.raises(ServiceUnavailable, match="cannot ask the Models API"):
        verify_model(REAL_API, "claude-sonnet-5-5", retrieve=unreachable)


def test_a_simulator_is_never_asked() -> None:
    def never(endpoint: Endpoint, model: str) -> None:
        raise AssertionError("a simulator endpoint must not be asked")

    simulated = Endpoint("http://127.0.0.1:1", "x", simulated=True)
    assert verify_model(simulated, "claude-sonnet-5-5", retrieve=never).known
