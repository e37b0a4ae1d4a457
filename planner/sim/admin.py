"""Admin endpoints: `/admin/health`, `/admin/stats`, `/admin/faults` (GET, and PUT/POST to change).

`GET /admin/stats?run=<run id>:<scope>` adds `run_requests`, the requests made under that
run key (the `x-planner-run` header), so a client can count its own run's requests while
others share the simulator.

PUT/POST `/admin/faults` takes the spec as the raw body (a profile name or a JSON list)
or as `{"faults": SPEC}`; a bad spec is a 400 whose message names the problem.
"""

from __future__ import annotations

import json

from aiohttp import web

from planner.protocol import RunKey
from planner.sim.errors import FaultSpecError
from planner.sim.spec import MAX_NESTING, PROFILES, load_json, parse_fault_spec
from planner.sim.state import SimState


def _spec_text(raw: bytes) -> str:
    """The spec in a PUT body: the raw text, or the `faults` of a `{"faults": SPEC}` object."""
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise FaultSpecError("the fault spec body is not UTF-8 text") from None
    if not text.startswith("{"):
        return text
    wrapped = load_json(text, MAX_NESTING + 1)  # the spec inside its wrapper
    if isinstance(wrapped, dict) and "faults" in wrapped and "type" not in wrapped:
        value = wrapped["faults"]
        if value is None or isinstance(value, str):
            return value or ""
        return json.dumps(value)
    return text


def add_routes(app: web.Application, key: web.AppKey[SimState]) -> None:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def stats(request: web.Request) -> web.Response:
        run = request.query.get("run")  # ?run=<run id>:<scope>: that run's requests too
        return web.json_response(request.app[key].stats(None if run is None else RunKey.parse(run)))

    async def get_faults(request: web.Request) -> web.Response:
        spec = request.app[key].spec
        return web.json_response(
            {"spec": spec.text, "faults": spec.to_list(), "profiles": list(PROFILES)}
        )

    async def set_faults(request: web.Request) -> web.Response:
        try:
            spec = parse_fault_spec(_spec_text(await request.read()))
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
