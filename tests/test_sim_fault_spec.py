"""Fault specs: profiles, JSON lists, canonical text, clear errors, seeded toxicity,
per-run request numbers."""

from __future__ import annotations

import json
import uuid

import httpx2
import pytest

from planner.errors import InputError
from planner.protocol import FAULTS_HEADER, RUN_HEADER, SEED_HEADER, RunKey
from planner.sim import PROFILES, FaultSpec, FaultSpecError, Simulator, parse_fault_spec
from planner.sim.faults import REGISTRY, HttpError, Reset, Stall
from tests.sim_helpers import client, plain_request, stream_text


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_parses(name: str) -> None:
    spec = parse_fault_spec(name)
    assert spec.text == name
    assert len(spec.faults) == len(PROFILES[name])


def test_the_designed_profiles_exist() -> None:
    required = {"none", "drop-at-90", "flaky", "overloaded", "rate-limited", "stall", "eof"}
    assert required | {"cutoff-134s", "slow"} <= set(PROFILES)
    (drop,) = parse_fault_spec("drop-at-90").faults
    assert isinstance(drop, Reset) and drop.at_fraction == 0.9 and drop.on_requests == (1,)


def test_json_list_and_single_object() -> None:
    spec = parse_fault_spec(
        '[{"type": "reset", "toxicity": 1.0, "on_requests": [1], "at_fraction": 0.9}]'
    )
    assert spec.faults == (Reset(toxicity=1.0, on_requests=(1,), at_fraction=0.9),)
    assert parse_fault_spec('{"type": "stall", "stall_ms": 5}').faults == (Stall(stall_ms=5),)
    assert parse_fault_spec("").faults == parse_fault_spec(None).faults == ()


def test_to_list_round_trips() -> None:
    spec = parse_fault_spec("flaky")
    assert parse_fault_spec(json.dumps(spec.to_list())).faults == spec.faults


def test_the_canonical_text_is_the_profile_name_or_compact_json_of_what_differs() -> None:
    given = '[ {"type": "reset", "toxicity": 1.0, "on_requests": 1, "at_fraction": 0.9} ]'
    spec = parse_fault_spec(given)
    assert spec.text == '[{"type":"reset","on_requests":[1],"at_fraction":0.9}]'
    assert parse_fault_spec(spec.text) == spec, "the text parses back to the same spec"
    assert parse_fault_spec('{"on_requests": [1], "at_fraction": 0.9, "type": "reset"}') == spec
    assert parse_fault_spec(" drop-at-90 ").text == "drop-at-90"
    assert parse_fault_spec("[]").text == parse_fault_spec(None).text == "none"
    assert parse_fault_spec(spec) is spec, "an edge may be handed the object itself"
    assert FaultSpec.of(spec.faults) == spec


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_written_out_as_json_gives_its_faults(name: str) -> None:
    spec = parse_fault_spec(name)
    assert parse_fault_spec(FaultSpec.of(spec.faults).text).faults == spec.faults


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("drop-at-95", ["unknown fault profile 'drop-at-95'", "drop-at-90"]),
        ("[{", ["not valid JSON"]),
        ('"reset"', ["unknown fault profile"]),
        ("[1]", ["fault #1 must be a JSON object"]),
        ('[{"type": "explode"}]', ["unknown type 'explode'", "reset"]),
        ('[{"type": "reset", "at_fraction": 1.5}]', ["at_fraction must be between 0 and 1"]),
        ('[{"type": "reset", "delay_ms": 5}]', ["unknown parameter(s) ['delay_ms']"]),
        ('[{"type": "reset", "toxicity": 2}]', ["toxicity must be between 0 and 1"]),
        ('[{"type": "http_error", "status": 418}]', ["status must be one of"]),
        ('[{"type": "sse_error", "error_type": "boom"}]', ["error_type must be one of"]),
        ('[{"type": "stall", "stall_ms": -1}]', ["stall_ms must be > 0"]),
        ('[{"type": "reset", "on_requests": [0]}]', ["1-based"]),
        ('[{"type": "reset", "on_requests": "first"}]', ["on_requests must be a list of integers"]),
        ('[{"type": "reset", "at_fraction": 0.5, "after_bytes": 10}]', ["give one of"]),
        ('[{"type": "latency", "latency_ms": "slow"}]', ["latency"]),
        ('{"faults": 3}', ["unknown type None"]),
    ],
)
def test_bad_specs_name_the_problem(text: str, words: list[str]) -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_fault_spec(text)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, InputError)
    for word in words:
        assert word in str(caught.value)


def test_toxicity_draws_are_seeded_and_roughly_proportional() -> None:
    spec = parse_fault_spec('[{"type": "reset", "toxicity": 0.3}]')

    def draws(seed: int, key: str) -> list[bool]:
        return [bool(spec.fire(seed, RunKey.parse(key), n)) for n in range(1, 1001)]

    assert draws(7, "r") == draws(7, "r")
    assert draws(7, "r") == draws(7, "another-generation:r"), "the scope decides, not the run"
    assert draws(7, "r") != draws(8, "r")
    assert draws(7, "r") != draws(7, "s")
    assert 230 <= sum(draws(7, "r")) <= 370


def test_on_requests_limits_a_fault_to_those_request_numbers() -> None:
    spec = parse_fault_spec('[{"type": "http_error", "on_requests": [2, 3]}]')
    fired = [spec.fire(0, RunKey.parse("run"), n) for n in range(1, 5)]
    assert [bool(f) for f in fired] == [False, True, True, False]
    assert isinstance(fired[1][0], HttpError)


def test_on_scope_limits_a_fault_to_one_scope_of_every_run() -> None:
    spec = parse_fault_spec('[{"type": "eof", "on_scope": "masterplan"}]')
    assert spec.fire(0, RunKey("gen-1", "masterplan"), 1)
    assert spec.fire(0, RunKey("gen-2", "masterplan"), 1)
    assert not spec.fire(0, RunKey("gen-1", "discovery"), 1)


def test_the_registry_holds_every_fault_class_by_its_type() -> None:
    assert set(REGISTRY) == {
        "reset",
        "sse_error",
        "eof",
        "stall",
        "http_error",
        "latency",
        "bandwidth",
        "cutoff",
        "corrupt",
        "refusal",
        "continuation",
    }
    assert all(cls.type == name for name, cls in REGISTRY.items())


def test_run_keys_number_requests_separately() -> None:
    spec = json.dumps([{"type": "http_error", "status": 529, "on_requests": [1]}])
    with Simulator(speed=0, faults=spec) as sim:
        sdk = client(sim.base_url)
        outcomes = []
        for run in ("a", "a", "b", "a", "b"):
            try:
                stream_text(sdk, plain_request(), extra_headers={RUN_HEADER: run})
                outcomes.append("ok")
            except Exception as exc:  # noqa: BLE001
                outcomes.append(type(exc).__name__)
    assert outcomes == ["OverloadedError", "ok", "OverloadedError", "ok", "ok"]


def test_a_bad_fault_header_is_a_400_naming_the_problem() -> None:
    with Simulator(speed=0) as sim:
        response = httpx2.post(
            f"{sim.base_url}/v1/messages",
            json=plain_request(),
            headers={FAULTS_HEADER: "nope", RUN_HEADER: uuid.uuid4().hex},
        )
    assert response.status_code == 400
    assert "unknown fault profile 'nope'" in response.json()["error"]["message"]


def test_the_seed_header_changes_the_answer() -> None:
    with Simulator(speed=0) as sim:
        sdk = client(sim.base_url)
        one, _ = stream_text(sdk, plain_request(), extra_headers={SEED_HEADER: "1"})
        again, _ = stream_text(sdk, plain_request(), extra_headers={SEED_HEADER: "1"})
        other, _ = stream_text(sdk, plain_request(), extra_headers={SEED_HEADER: "2"})
        bad = httpx2.post(
            f"{sim.base_url}/v1/messages", json=plain_request(), headers={SEED_HEADER: "x"}
        )
    assert one == again != other
    assert bad.status_code == 400


def test_a_simulator_with_a_bad_spec_does_not_start() -> None:
    with pytest.raises(FaultSpecError):
        Simulator(faults="no-such-profile")
