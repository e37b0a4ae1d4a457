"""The Models API on the simulator: `GET /v1/models` and `GET /v1/models/{model_id}`.

Each object has the shape of the SDK's `ModelInfo` (`anthropic/types/model_info.py`),
built from the catalogue: id, display name, release date, lifecycle (retired models stay
listed, as the API keeps them as the record of their retirement), the scheduled
retirement, output cap and context window, and the capabilities the simulator enforces
(thinking types, effort levels, structured outputs). An alias (`claude-haiku-4-5`)
resolves to its model's id; a name the catalogue lacks is a 404 `not_found_error`.

The list is newest first and pages as the API does (`limit` 1 to 1000, default 20,
`after_id` / `before_id`, `has_more`, `first_id`, `last_id`). `deprecated_at` is null:
the catalogue holds end-of-life dates, not the date a deprecation was announced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from aiohttp import web

from planner.catalog import MODELS, ModelSpec, lookup
from planner.sim.models import ModelProfile

_EPOCH = "1970-01-01T00:00:00Z"
_DATED = re.compile(r"-\d{8}$")


def display_name(name: str) -> str:
    """`claude-sonnet-5-5` -> "Claude Sonnet 5.5"; a date suffix is dropped."""
    words, version = [], []
    for part in _DATED.sub("", name).split("-"):
        (version if part.isdigit() else words).append(part)
    title = " ".join(word.capitalize() for word in words)
    return f"{title} {'.'.join(version)}" if version else title


def _timestamp(day: date | None) -> str | None:
    if day is None:
        return None
    return datetime.combine(day, time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _support(value: bool) -> dict[str, bool]:
    return {"supported": value}


def capabilities(spec: ModelSpec) -> dict[str, Any]:
    profile = ModelProfile(spec.name, spec, 0.0, 0.0)
    levels = profile.effort_levels
    thinks = profile.thinking_default != "off" or profile.accepts_budget_thinking
    effort = {level: _support(level in levels) for level in ("low", "medium", "high", "max")}
    return {
        "batch": _support(True),
        "citations": _support(True),
        "code_execution": _support(False),
        "context_management": {"supported": False},
        "effort": {**effort, "xhigh": _support("xhigh" in levels), "supported": bool(levels)},
        "image_input": _support(False),
        "pdf_input": _support(False),
        "server_tools": {
            "supported": False,
            "code_execution": _support(False),
            "web_search": _support(False),
        },
        "structured_outputs": _support(True),
        "thinking": {
            "supported": thinks,
            "types": {
                "adaptive": _support(profile.accepts_adaptive_thinking),
                "between_tools": _support(profile.thinking_off_type == "between_tools"),
                "disabled": _support(profile.thinking_off_type == "disabled"),
                "enabled": _support(profile.accepts_budget_thinking),
            },
        },
    }


def model_info(spec: ModelSpec, today: date) -> dict[str, Any]:
    lifecycle = spec.lifecycle(today)
    return {
        "type": "model",
        "id": spec.name,
        "display_name": display_name(spec.name),
        "created_at": _timestamp(spec.released) or _EPOCH,
        "lifecycle": lifecycle,
        "deprecated_at": None,
        "retires_at": _timestamp(spec.end_of_life) if lifecycle == "deprecated" else None,
        "line": spec.line,
        "max_input_tokens": spec.context_window,
        "max_tokens": spec.max_output_tokens,
        "capabilities": capabilities(spec),
    }


def _newest_first() -> list[ModelSpec]:
    return sorted(MODELS, key=lambda spec: (spec.released or date.min, spec.name), reverse=True)


def _not_found(message: str) -> web.Response:
    body = {"type": "error", "error": {"type": "not_found_error", "message": message}}
    return web.json_response(body, status=404)


def _bad_request(message: str) -> web.Response:
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    return web.json_response(body, status=400)


def add_routes(app: web.Application, today: Callable[[web.Request], date]) -> None:
    async def retrieve(request: web.Request) -> web.Response:
        model_id = request.match_info["model_id"]
        spec = lookup(model_id)
        if spec is None:
            return _not_found(f"model: {model_id}")
        return web.json_response(model_info(spec, today(request)))

    async def list_models(request: web.Request) -> web.Response:
        query = request.query
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            return _bad_request("limit: Input should be a valid integer")
        if not 1 <= limit <= 1000:
            return _bad_request("limit: Input should be between 1 and 1000")
        specs = _newest_first()
        ids = [spec.name for spec in specs]
        start, end = 0, len(specs)
        for name, at_start in (("after_id", True), ("before_id", False)):
            if name in query:
                if query[name] not in ids:
                    return _not_found(f"{name}: {query[name]}")
                position = ids.index(query[name])
                start, end = (position + 1, end) if at_start else (start, position)
        chosen = specs[start:end]
        page = chosen[-limit:] if "before_id" in query and "after_id" not in query else chosen
        page = page[:limit]
        day = today(request)
        data = [model_info(spec, day) for spec in page]
        return web.json_response(
            {
                "data": data,
                "has_more": len(chosen) > len(page),
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model_id}", retrieve)


__all__ = ["add_routes", "capabilities", "display_name", "model_info"]
