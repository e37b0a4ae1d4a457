"""Shared helpers for the simulator tests: real SDK clients and planner's own requests."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anthropic

from planner.plan.prompts import discovery_request, masterplan_request
from planner.plan.schema import Discovery
from planner.protocol import FAULTS_HEADER, RUN_HEADER

MODEL = "claude-sonnet-4-5"
DESCRIPTION = "A marketplace for renting camping gear with bookings, payments and reviews"


def client(base_url: str, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="x", base_url=base_url, **{"max_retries": 0, **kwargs})


def async_client(base_url: str, **kwargs: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="x", base_url=base_url, **{"max_retries": 0, **kwargs})


def plain_request(
    text: str = "Explain retries for camping gear uploads", **extra: Any
) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 4000,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def plan_request(task_count: int = 20, model: str = MODEL) -> dict[str, Any]:
    found = Discovery.model_validate(
        {
            "domain": "camping gear rental",
            "bounded_contexts": [
                {"name": "Rentals", "aggregates": ["Booking", "GearItem"]},
                {"name": "Payments", "aggregates": ["Payment"]},
            ],
            "services": [{"name": "BookingService"}],
        }
    )
    return masterplan_request(DESCRIPTION, found, task_count, model)


def discovery(model: str = MODEL) -> dict[str, Any]:
    return discovery_request(DESCRIPTION, model)


def stream_text(
    sdk: anthropic.Anthropic, request: dict[str, Any], **kwargs: Any
) -> tuple[str, Any]:
    """The streamed text and the final message (stop_reason None when it never came)."""
    with sdk.messages.stream(**request, **kwargs) as stream:
        text = "".join(stream.text_stream)
        return text, stream.current_message_snapshot


def fault_headers(*items: dict[str, Any], run: str | None = None) -> dict[str, str]:
    """Headers giving one request these faults, under its own run key unless told."""
    return {FAULTS_HEADER: json.dumps(list(items)), RUN_HEADER: run or uuid.uuid4().hex}
