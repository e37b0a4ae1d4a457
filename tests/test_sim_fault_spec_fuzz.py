"""Any input to a fault spec is refused cleanly or parsed into a spec that fits its header:
the parser, `planner sim --faults`, `planner generate --faults` and the simulator's admin
endpoint, fed arbitrary JSON (issue 17.6)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main
from planner.errors import PlannerError
from planner.protocol import FAULTS_HEADER
from planner.sim import FaultSpecError, Simulator, parse_fault_spec
from planner.sim.spec import MAX_SPEC_CHARS
from tests.fuzz_support import FUZZ, one_line, specs
from tests.sim_helpers import client, plain_request


@FUZZ
@given(specs)
def test_the_parser_refuses_cleanly_or_gives_a_spec_that_fits_its_header(text: str) -> None:
    try:
        spec = parse_fault_spec(text)
    except FaultSpecError as exc:
        assert isinstance(exc, PlannerError) and one_line(str(exc))
        return
    assert len(spec.text) <= MAX_SPEC_CHARS and spec.text.isascii()
    assert parse_fault_spec(spec.text).faults == spec.faults


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(specs)
def test_planner_sim_and_generate_refuse_in_one_line(text: str) -> None:
    runner = CliRunner()
    # a negative speed is refused after the faults are read, so a good spec never starts anything
    for args in (
        ["sim", "--port", "0", "--speed", "-1", "--faults", text],
        ["generate", "A small shop", "--speed", "-1", "--faults", text],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code in (1, 2), (args[0], result.output, result.exception)
        assert isinstance(result.exception, SystemExit), result.exception
        assert one_line(result.output.splitlines()[-1])


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0) as running:
        yield running


@pytest.fixture(scope="module")
def http():
    with httpx2.Client(timeout=30) as session:
        yield session


@FUZZ
@given(text=specs, wrapped=st.booleans())
def test_the_admin_endpoint_answers_400_with_json_or_takes_the_spec(
    sim: Simulator, http: httpx2.Client, text: str, wrapped: bool
) -> None:
    body: Any = json.dumps({"faults": text}) if wrapped else text
    response = http.put(f"{sim.base_url}/admin/faults", content=body.encode())
    assert response.status_code in (200, 400), response.text
    answer = response.json()
    if response.status_code == 400:
        assert answer["error"]["type"] == "invalid_request_error"
        assert one_line(answer["error"]["message"])
    if response.status_code == 200:
        http.put(f"{sim.base_url}/admin/faults", content=b"none")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[{"type": "corrupt", "drop_brackets": 1.5}]', "drop_brackets must be a whole number"),
        ('[{"type": "stall", "stall_ms": 1e400}]', "numbers must be finite"),
        ('[{"type": "stall", "stall_ms": Infinity}]', "numbers must be finite"),
        ('[{"type": "latency", "latency_ms": "5"}]', "latency_ms must be a number"),
        ('[{"type": "corrupt", "prose": 1}]', "prose must be true or false"),
        ("[" * 1000 + "]" * 1000, "nested 1000 levels deep"),
        (json.dumps([{"type": "reset", "on_scope": "s" * 150}] * 50), "header it travels in"),
        ('[{"type": "stall", "stall_ms": 1e300}]', "out of range"),
        ('[{"type": "reset", "on_requests": [10000000]}]', "1-based request numbers up to"),
    ],
)
def test_each_bad_field_is_named_at_parse_time(text: str, words: str) -> None:
    with pytest.raises(FaultSpecError, match=None) as caught:
        parse_fault_spec(text)
    assert words in str(caught.value)


def test_a_deeply_nested_header_is_a_400_not_a_crash(sim: Simulator) -> None:
    headers = {FAULTS_HEADER: "[" * 1000 + "]" * 1000, "x-api-key": "x"}
    response = httpx2.post(f"{sim.base_url}/v1/messages", json=plain_request(), headers=headers)
    assert response.status_code == 400
    assert "nested 1000 levels deep" in response.json()["error"]["message"]


def test_the_largest_spec_that_parses_travels_in_its_header(sim: Simulator) -> None:
    scope = "s" * 190
    items = [{"type": "latency", "latency_ms": 0, "on_scope": scope}] * 60
    while True:
        try:
            spec = parse_fault_spec(json.dumps(items))
            break
        except FaultSpecError:
            items = items[:-1]
    assert len(spec.text) > MAX_SPEC_CHARS - 300
    sdk = client(sim.base_url)
    message = sdk.messages.create(
        **plain_request(max_tokens=5), extra_headers={FAULTS_HEADER: spec.text}
    )
    assert message.stop_reason == "max_tokens"
