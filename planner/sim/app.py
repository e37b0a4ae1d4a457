"""The simulator's HTTP application: `POST /v1/messages` and friends, as the API serves them.

Per-request headers (names in `planner.protocol`): `x-planner-faults` (a spec for this
request only), `x-planner-run` (the run key request numbers are counted under, for
`on_requests`), `x-planner-seed` (the seed of this request's answer and fault draws),
`x-planner-speed` (this request's speed factor, so one shared simulator serves
generations at different speeds).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from planner.protocol import FAULTS_HEADER, RUN_HEADER, SEED_HEADER, SPEED_HEADER, RunKey
from planner.sim import admin, models_api, responses
from planner.sim.cache import input_tokens
from planner.sim.errors import FaultSpecError
from planner.sim.reply import build_reply
from planner.sim.spec import FaultSpec, parse_fault_spec
from planner.sim.state import SimState
from planner.sim.timing import SimClock
from planner.sim.validation import RequestProblem, check_request

STATE = web.AppKey("state", SimState)

REQUEST_ID = web.RequestKey("request_id", str)
RATE_HEADERS = web.RequestKey("rate_headers", dict)


def _request_id(request: web.Request) -> str:
    return request[REQUEST_ID]


@web.middleware
async def request_ids(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A request id for every request; routing errors as the API's JSON error bodies."""
    request[REQUEST_ID] = "req_sim" + secrets.token_hex(12)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status not in (404, 405):
            raise
        message = "Not found" if exc.status == 404 else f"Method {request.method} not allowed"
        return responses.error_response(exc.status, message, request[REQUEST_ID])


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["request-id"] = request.get(REQUEST_ID) or "req_sim" + secrets.token_hex(12)
    if request.path.startswith("/v1/"):
        state = request.app[STATE]
        state.record_status(response.status)
        if request.path.startswith("/v1/messages"):
            # every Messages response, errors too, says where the rate limits stand
            rate_headers = request.get(RATE_HEADERS) or state.rate_limits.take(state.clock)
            response.headers.update(rate_headers)


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


@dataclass(frozen=True)
class RequestOptions:
    """What the x-planner-* headers chose for one request (else the simulator's own)."""

    spec: FaultSpec
    seed: int
    run_key: RunKey
    clock: SimClock


def _options(request: web.Request, state: SimState) -> RequestOptions:
    """The request's overrides; ValueError (FaultSpecError too) names a bad header."""
    headers = request.headers
    try:
        spec = parse_fault_spec(headers[FAULTS_HEADER]) if FAULTS_HEADER in headers else state.spec
    except FaultSpecError as exc:
        raise ValueError(f"{FAULTS_HEADER}: {exc}") from None
    try:
        seed = int(headers.get(SEED_HEADER) or state.seed)
    except ValueError:
        raise ValueError(f"{SEED_HEADER} must be an integer") from None
    try:
        clock = (
            state.clock.at_speed(float(headers[SPEED_HEADER]))
            if SPEED_HEADER in headers
            else state.clock
        )
    except ValueError:
        raise ValueError(f"{SPEED_HEADER} must be a number >= 0 (0 or inf = unlimited)") from None
    return RequestOptions(spec, seed, RunKey.parse(headers.get(RUN_HEADER, "")), clock)


async def create_message(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.count("requests")
    request_id = _request_id(request)
    body = await _read_body(request, state)
    if isinstance(body, web.Response):
        return body
    try:
        options = _options(request, state)
    except ValueError as exc:
        return responses.error_response(400, str(exc), request_id)
    request_number = state.next_request_number(options.run_key)
    checked = check_request(body, state.today)
    if isinstance(checked, RequestProblem):
        return responses.error_response(checked.status, checked.message, request_id)
    fired = options.spec.fire(options.seed, options.run_key, request_number)
    state.record_faults(fired)
    for fault in fired:
        if (rejection := fault.rejection(options.clock)) is not None:
            return responses.rejection_response(rejection, request_id)
    state.count("messages")
    usage = state.cache.account(body)
    reply = build_reply(
        state.responder, body, options.seed, options.run_key, request_number, fired, usage, checked
    )
    request[RATE_HEADERS] = state.rate_limits.take(options.clock, usage.total, reply.output_tokens)
    state.count_answer(reply.kind)
    if body.get("stream"):
        state.count("streams")
        return await responses.stream(request, reply, state, options.clock)
    return await responses.whole_message(request, reply, state, options.clock, request_id)


async def count_message_tokens(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _read_body(request, state)
    if isinstance(body, web.Response):
        return body
    # the endpoint needs no max_tokens; everything else is checked as for a message
    checked = check_request(
        {"max_tokens": 1, **body} if isinstance(body, dict) else body, state.today
    )
    if isinstance(checked, RequestProblem):
        return responses.error_response(checked.status, checked.message, _request_id(request))
    return web.json_response({"input_tokens": input_tokens(body)})


def create_app(state: SimState) -> web.Application:
    app = web.Application(middlewares=[request_ids], client_max_size=32 * 1024 * 1024)
    app[STATE] = state
    app.on_response_prepare.append(_on_prepare)
    app.router.add_post("/v1/messages", create_message)
    app.router.add_post("/v1/messages/count_tokens", count_message_tokens)
    models_api.add_routes(app, lambda request: request.app[STATE].today())
    admin.add_routes(app, STATE)
    return app
