"""Shared helpers for the contender tests: the faults that matter, runs on the real simulator
(planner's planning model, speed 0, no waiting), and each run judged against the fault-free
answer of the same seed."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sim_helpers import plan_request

from planner.contenders import Contender, ContenderResult, Endpoint, Outcome, judge
from planner.contenders.sdk_stream import SdkStream
from planner.protocol import FAULTS_HEADER, RUN_HEADER, SEED_HEADER, SPEED_HEADER, RunKey
from planner.sim import parse_fault_spec
from planner.tokens import count_tokens

PREFILL_MODEL = "claude-haiku-4-5"  # accepts an assistant prefill
# refuses a prefill and thinks only when asked: the contenders count text tokens only (a
# thinking model such as the default claude-sonnet-5-5 adds thinking to output_tokens)
NO_PREFILL_MODEL = "claude-sonnet-4-6"
MODELS = (PREFILL_MODEL, NO_PREFILL_MODEL)
TASKS = 8


def _spec(*faults: dict[str, Any]) -> str:
    """The canonical text of a spec: what runs and rows carry."""
    return parse_fault_spec(json.dumps(list(faults))).text


DROP_AT_90 = _spec({"type": "reset", "at_fraction": 0.9, "on_requests": [1]})
EOF_AT_70 = _spec({"type": "eof", "at_fraction": 0.7, "on_requests": [1]})
OVERLOADED_BEFORE_STREAM = _spec(
    {"type": "http_error", "status": 529, "on_requests": [1], "retry_after_s": 1}
)


def no_wait(seconds: float) -> None:
    """The simulator runs at speed 0: a library's waits take no time either."""


def endpoint(base_url: str, faults: str = "none", seed: int = 1) -> Endpoint:
    headers = {
        FAULTS_HEADER: faults,
        RUN_HEADER: str(RunKey(uuid.uuid4().hex, "answer")),
        SEED_HEADER: str(seed),
        SPEED_HEADER: "0",
    }
    return Endpoint(base_url, "x", headers, no_wait)


@dataclass(frozen=True)
class Judged:
    result: ContenderResult
    outcome: Outcome
    expected: str
    final_tokens: int

    @property
    def token_ratio(self) -> float:
        return self.result.output_tokens / self.final_tokens

    @property
    def delivered_ratio(self) -> float:
        return self.result.delivered_chars / len(self.expected)


def request_for(model: str) -> dict[str, Any]:
    return plan_request(TASKS, model)


def fault_free(base_url: str, model: str, seed: int = 1) -> ContenderResult:
    result = SdkStream().run(request_for(model), endpoint(base_url, seed=seed))
    assert result.claimed_success and not result.tokens_estimated
    assert result.output_tokens == count_tokens(result.text)
    return result


def run_judged(
    contender: Contender, base_url: str, model: str, faults: str, seed: int = 1
) -> Judged:
    expected = fault_free(base_url, model, seed)
    result = contender.run(request_for(model), endpoint(base_url, faults, seed))
    outcome = judge(result.text, expected.text, claimed_success=result.claimed_success)
    return Judged(result, outcome, expected.text, expected.output_tokens)
