"""One experiment run of a contender: the generation's two model requests, through another library.

A planner strategy's run is a real generation (`planner.plan.runner`). A contender's run asks
the same two questions the generator asks, the discovery and then the MasterPlan built from
it (the same prompts, the same task count, the same model), through the contender
(`planner.contenders`), under the same run-key scopes (`<run id>:discovery`,
`<run id>:masterplan`), seed, speed and fault spec. The simulator draws faults and answers
from the seed and the scope only (`planner.protocol.RunKey`), so a contender meets the same
failures at the same places of the same answers as the strategies' generations of its seed.

Nothing is recorded chunk by chunk (a library hands planner only text): the run's texts per
stage, tokens, requests, time, configuration and versions are what the experiment stores and
judges (`planner.experiment_judging`). A library that raised ends the run there; a discovery
the library returned as complete but that does not parse ends it too (the judge then says
whether it was silently truncated). Waits a library lets planner hand it pass in the
simulator's time, as a generation's do.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from planner.config import get_settings
from planner.contenders import Contender, ContenderResult, Endpoint
from planner.plan.endpoint import endpoint_for, planner_headers, time_scale
from planner.plan.parse import PlanParseError, parse_discovery
from planner.plan.prompts import discovery_request, masterplan_request, task_count_for

ANTHROPIC_API_URL = "https://api.anthropic.com"
STAGES = ("discovery", "masterplan")


@dataclass(frozen=True)
class ContenderRun:
    answers: dict[str, str]
    """The text the library handed back, per stage it reached."""
    raised: bool
    """The library said it failed (it raised) in the last stage it reached."""
    output_tokens: int
    requests: int | None
    duration_s: float
    delivered_chars: int
    config: dict[str, Any]
    versions: dict[str, str]
    error: str | None = None
    http_status: int | None = None
    """The status of the error the library raised in its last stage, when it had one."""
    tokens_estimated: bool = field(default=False)


def _sleep(speed: float, simulated: bool) -> Any:
    scale = time_scale(speed) if simulated else 1.0
    return lambda seconds: time.sleep(seconds / scale)


def run_contender(
    contender: Contender,
    *,
    run_id: uuid.UUID,
    description: str,
    model: str,
    faults: str,
    seed: int,
    speed: float,
) -> ContenderRun:
    """Both stages of one run through `contender`, against the configured endpoint."""
    target = endpoint_for(get_settings(), faults=faults)
    sleep = _sleep(speed, target.simulated)
    results: dict[str, ContenderResult] = {}

    def ask(stage: str, request: dict[str, Any]) -> ContenderResult:
        headers = planner_headers(
            target, generation_id=run_id, stage=stage, faults=faults, seed=seed, speed=speed
        )
        endpoint = Endpoint(target.base_url or ANTHROPIC_API_URL, target.api_key, headers, sleep)
        results[stage] = contender.run(request, endpoint)
        return results[stage]

    error = None
    discovery = ask("discovery", discovery_request(description, model))
    if discovery.claimed_success:
        try:
            parsed = parse_discovery(discovery.text)
        except PlanParseError as exc:
            error = f"discovery: the answer returned as complete does not parse: {exc}"
        else:
            request = masterplan_request(description, parsed, task_count_for(parsed), model)
            ask("masterplan", request)
    last = list(results.values())[-1]
    if not last.claimed_success:
        stage = list(results)[-1]
        error = f"{stage}: {last.error_type}: {last.error_message}"
    requests = [r.requests for r in results.values()]
    return ContenderRun(
        answers={stage: result.text for stage, result in results.items()},
        raised=not last.claimed_success,
        output_tokens=sum(r.output_tokens for r in results.values()),
        requests=None if None in requests else sum(r for r in requests if r is not None),
        duration_s=sum(r.duration_s for r in results.values()),
        delivered_chars=sum(r.delivered_chars for r in results.values()),
        config={**contender.config(), "kind": "contender", "model": model},
        versions=contender.versions(),
        error=error,
        http_status=None if last.claimed_success else last.http_status,
        tokens_estimated=any(r.tokens_estimated for r in results.values()),
    )


__all__ = ["STAGES", "ContenderRun", "run_contender"]
