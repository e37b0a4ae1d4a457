"""The simulator's HTTP application: `POST /v1/messages` and friends, as the API serves them.

Per-request headers: `x-planner-faults` (a spec for this request only),
`x-planner-run` (the key request numbers are counted under, for `on_requests`),
`x-planner-seed` (the seed of this request's answer and fault draws).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from planner.sim import admin, responses
from planner.sim.cache import input_tokens
from planner.sim.faults import FaultSpecError, HttpError
from planner.sim.profiles import parse_fault_spec
from planner.sim.reply import build_reply
from planner.sim.state import SimState
from planner.sim.validation import validate

STATE = web.AppKey("state", SimState)
FAULTS_HEADER = "x-planner-faults"
RUN_HEADER = "x-planner-run"
SEED_HEADER = "x-planner-seed"


def _request_id(request: web.Request) -> str:
    return request["request_id"]


@web.middleware
async def request_ids(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A request id for every request; routing errors as the API's JSON error bodies."""
    request["request_id"] = "req_sim" + secrets.token_hex(12)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status not in (404, 405):
            raise
        message = "Not found" if exc.status == 404 else f"Method {request.method} not allowed"
        return responses.error_response(exc.status, message, request["request_id"])


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["request-id"] = request.get("request_id") or "req_sim" + secrets.token_hex(12)
    if request.path.startswith("/v1/"):
        request.app[STATE].record_status(response.status)


def _api_key(request: web.Request) -> str | None:
    if key := request.headers.get("x-api-key"):
        return key
    authorization = request.headers.get("authorization", "")
    return authorization[7:].strip() if authorization.lower().startswith("bearer ") else None


async def _read_body(request: web.Request, state: SimState) -> dict | web.Response:
    if state.api_key is not None and _api_key(request) != state.api_key:
        return responses.error_response(401, "invalid x-api-key", _request_id(request))
    try:
        return json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return responses.error_response(
            400, "The request body is not valid JSON.", _request_id(request)
        )


async def create_message(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.count("requests")
    request_id = _request_id(request)
    body = await _read_body(request, state)
    if isinstance(body, web.Response):
        return body
    try:
        header_spec = request.headers.get(FAULTS_HEADER)
        spec = parse_fault_spec(header_spec) if header_spec else state.spec
    except FaultSpecError as exc:
        return responses.error_response(400, f"{FAULTS_HEADER}: {exc}", request_id)
    seed_text = request.headers.get(SEED_HEADER)
    try:
        seed = int(seed_text) if seed_text else state.seed
    except ValueError:
        return responses.error_response(400, f"{SEED_HEADER} must be an integer", request_id)
    run_key = request.headers.get(RUN_HEADER, "")
    request_number = state.next_request_number(run_key)
    if problem := validate(body):
        return responses.error_response(problem.status, problem.message, request_id)
    fired = spec.fire(seed, run_key, request_number)
    state.record_faults(fired)
    http_error = next((f for f in fired if isinstance(f, HttpError)), None)
    if http_error is not None:
        return responses.error_response(
            http_error.status, None, request_id, _retry_headers(http_error, state)
        )
    state.count("messages")
    reply = build_reply(body, seed, run_key, request_number, fired, state.cache.account(body))
    if body.get("stream"):
        state.count("streams")
        return await responses.stream(request, reply, state)
    return await responses.whole_message(request, reply, state, request_id)


def _retry_headers(fault: HttpError, state: SimState) -> dict[str, str]:
    """retry-after values on the simulated clock (a 2 s wait at speed 100 is 20 ms)."""
    headers = {"x-should-retry": "true"}
    if fault.retry_after_s is not None:
        scaled = state.clock.real_seconds(fault.retry_after_s) if fault.retry_after_s else 0.0
        headers["retry-after"] = f"{scaled:g}" if not state.clock.unlimited else "0.001"
    if fault.retry_after_ms is not None:
        scaled = state.clock.real_seconds(fault.retry_after_ms / 1000) * 1000
        headers["retry-after-ms"] = f"{scaled:g}" if not state.clock.unlimited else "1"
    return headers


async def count_message_tokens(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _read_body(request, state)
    if isinstance(body, web.Response):
        return body
    # the endpoint needs no max_tokens; everything else is checked as for a message
    problem = validate({"max_tokens": 1, **body} if isinstance(body, dict) else body)
    if problem is not None:
        return responses.error_response(problem.status, problem.message, _request_id(request))
    return web.json_response({"input_tokens": input_tokens(body)})


def create_app(state: SimState) -> web.Application:
    app = web.Application(middlewares=[request_ids], client_max_size=32 * 1024 * 1024)
    app[STATE] = state
    app.on_response_prepare.append(_on_prepare)
    app.router.add_post("/v1/messages", create_message)
    app.router.add_post("/v1/messages/count_tokens", count_message_tokens)
    admin.add_routes(app, STATE)
    return app
