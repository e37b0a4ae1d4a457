"""The `http_error` fault: an HTTP error before the stream starts, as the API sends it.

Statuses: 402 (billing_error), 409 (conflict_error), 413 (request_too_large, which the
proxy in front of the API answers, so `body: "html"` gives its HTML page instead of
JSON), 429 (rate_limit_error; with `error_code: "enforced_spend_limit_reached"` the
monthly spend cap, which carries `error.details.error_code` and no retry-after),
500 and 503 (api_error), 504 (timeout_error) and 529 (overloaded_error).

`x-should-retry` is sent as the API sends it: `true` on the errors a retry can cure
(409, 429 rate limits, 5xx), `false` on those it cannot (402, a spend cap), none on the
proxy's 413; `should_retry` overrides it. `retry_after_s` / `retry_after_ms` are
simulated time: the headers carry the real time at the request's speed (a 2 s wait at
speed 100 is 20 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from planner.protocol import HTTP_ERROR_STATUSES
from planner.sim.errors import FaultSpecError
from planner.sim.timing import SimClock
from planner.sim.toxic import Fault, Rejection, check_positive

SPEND_LIMIT = "enforced_spend_limit_reached"
# error codes the simulator can attach, by the status the SDK expects them with
ERROR_CODES = {SPEND_LIMIT: 429}
BODIES = ("json", "html")
SPEND_LIMIT_MESSAGE = (
    "You have reached your specified API usage limits. You will regain access on the "
    "first day of next month at 00:00 UTC."
)


def _should_retry_by_default(status: int, error_code: str | None) -> bool | None:
    if status == 413:
        return None  # the proxy's answer: the API never saw the request
    return not (status == 402 or error_code == SPEND_LIMIT)


@dataclass(frozen=True)
class HttpError(Fault):
    """An HTTP error before the stream starts, with the API's error body."""

    type: ClassVar[str] = "http_error"
    status: int = 529
    retry_after_s: float | None = None
    retry_after_ms: float | None = None
    error_code: str | None = None
    body: str = "json"
    should_retry: bool | None = None

    def check(self) -> None:
        super().check()
        if self.status not in HTTP_ERROR_STATUSES:
            raise FaultSpecError(
                f"http_error: status must be one of {list(HTTP_ERROR_STATUSES)}, got {self.status}"
            )
        check_positive(self, "retry_after_s", self.retry_after_s, allow_zero=True)
        check_positive(self, "retry_after_ms", self.retry_after_ms, allow_zero=True)
        if self.error_code is not None and ERROR_CODES.get(self.error_code) != self.status:
            known = ", ".join(f"{code} (status {status})" for code, status in ERROR_CODES.items())
            raise FaultSpecError(
                f"http_error: error_code {self.error_code!r} does not go with status "
                f"{self.status}; known: {known}"
            )
        if self.body not in BODIES:
            raise FaultSpecError(
                f"http_error: body must be one of {list(BODIES)}, got {self.body!r}"
            )

    def rejection(self, clock: SimClock) -> Rejection:
        headers: dict[str, str] = {}
        retry = self.should_retry
        if retry is None:
            retry = _should_retry_by_default(self.status, self.error_code)
        if retry is not None:
            headers["x-should-retry"] = "true" if retry else "false"
        if self.retry_after_s is not None:
            seconds = clock.real_seconds(self.retry_after_s)
            headers["retry-after"] = "0.001" if clock.unlimited else f"{seconds:g}"
        if self.retry_after_ms is not None:
            milliseconds = clock.real_seconds(self.retry_after_ms / 1000) * 1000
            headers["retry-after-ms"] = "1" if clock.unlimited else f"{milliseconds:g}"
        message = SPEND_LIMIT_MESSAGE if self.error_code == SPEND_LIMIT else None
        return Rejection(self.status, headers, self.error_code, message, self.body == "html")


__all__ = ["ERROR_CODES", "SPEND_LIMIT", "HttpError"]
