"""Admin endpoints: `/admin/health`, `/admin/stats`, `/admin/faults` (GET, and PUT/POST to change).

PUT/POST `/admin/faults` takes the spec as the raw body (a profile name or a JSON list)
or as `{"faults": SPEC}`; a bad spec is a 400 whose message names the problem.
"""

from __future__ import annotations

import json

from aiohttp import web

from planner.sim.errors import FaultSpecError
from planner.sim.spec import PROFILES, parse_fault_spec
from planner.sim.state import SimState


def add_routes(app: web.Application, key: web.AppKey[SimState]) -> None:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(request.app[key].stats())

    async def get_faults(request: web.Request) -> web.Response:
        spec = request.app[key].spec
        return web.json_response(
            {"spec": spec.text, "faults": spec.to_list(), "profiles": list(PROFILES)}
        )

    async def set_faults(request: web.Request) -> web.Response:
        text = (await request.text()).strip()
        try:
            wrapped = json.loads(text) if text.startswith("{") else None
        except json.JSONDecodeError:
            wrapped = None
        if isinstance(wrapped, dict) and "faults" in wrapped:
            value = wrapped["faults"]
            text = value if isinstance(value, str) else json.dumps(value)
        try:
            spec = parse_fault_spec(text)
        except FaultSpecError as exc:
            return web.json_response(
                {"type": "error", "error": {"type": "invalid_request_error", "message": str(exc)}},
                status=400,
            )
        request.app[key].set_spec(spec)
        return web.json_response({"spec": spec.text, "faults": spec.to_list()})

    app.router.add_get("/admin/health", health)
    app.router.add_get("/admin/stats", stats)
    app.router.add_get("/admin/faults", get_faults)
    app.router.add_put("/admin/faults", set_faults)
    app.router.add_post("/admin/faults", set_faults)
