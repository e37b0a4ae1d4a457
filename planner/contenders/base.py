"""What a contender is: another library's documented way to get one whole answer, run as shipped.

planner's users choose between planner and what they would otherwise use, so planner
measures those too. A contender runs one Messages request (the kwargs of
`messages.stream`) against an `Endpoint` the way another library's documented recovery path
does, configured as that library's documentation recommends, and returns a
`ContenderResult` that planner judges (`planner.contenders.judge`) and stores like any run:

- the final text the library handed back, whether it claimed success (returned rather than
  raised) and, if it raised, the error's class and message;
- what the consumer was handed while streaming (`delivered_chars`: a library that retries
  a whole stream hands the same text over twice);
- the output tokens generated, from the library's usage where it reports it for the whole
  answer, else estimated with `planner.tokens.count_tokens` (the simulator's own tokenizer)
  and marked `tokens_estimated`;
- the HTTP requests made, counted at the transport where the library takes an HTTP client
  (`TransportCount`), else read off the simulator's admin stats (`SimulatorCount`);
- the wall time, the configuration used and the library's version.

The endpoint belongs to the caller: a base URL, an API key, headers sent with every request
(the simulator's fault, seed and run headers from `planner.protocol`), and `sleep`, how the
endpoint's time passes, so waits a library lets planner hand it run in the simulator's time.
`RunRecorder` is what every contender fills in while it runs; it builds the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

import httpx2

from planner.contenders.errors import UnsupportedRequest
from planner.llm.tls import shared_ssl_context
from planner.protocol import RUN_HEADER
from planner.tokens import count_tokens

_ADMIN_STATS_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Endpoint:
    """Where and how a contender sends its requests."""

    base_url: str
    api_key: str = "x"
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    """Waits the library lets planner hand it go through this (the simulator's time)."""


@dataclass(frozen=True)
class ContenderResult:
    contender: str
    text: str
    claimed_success: bool
    delivered_chars: int
    output_tokens: int
    tokens_estimated: bool
    requests: int | None
    """None when neither the transport nor the endpoint could count them."""
    duration_s: float
    config: Mapping[str, Any]
    versions: Mapping[str, str]
    error_type: str | None = None
    error_message: str | None = None
    http_status: int | None = None
    """The HTTP status the library's error carried, when it carried one (`status_code`)."""

    @property
    def redelivered(self) -> bool:
        """The consumer was handed more text than the answer holds (some of it twice)."""
        return self.delivered_chars > len(self.text)


class Contender(Protocol):
    """One library's documented recovery path, configured and ready to run."""

    name: str

    def config(self) -> dict[str, Any]:
        """The configuration a run uses, as it is recorded with the run."""
        ...

    def versions(self) -> dict[str, str]:
        """The installed version of each library the contender runs on."""
        ...

    def run(self, request: Mapping[str, Any], endpoint: Endpoint) -> ContenderResult: ...


def installed_versions(*distributions: str) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in distributions:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def error_name(exc: BaseException) -> str:
    """`package.Class` of an exception, e.g. `httpx2.RemoteProtocolError`."""
    package = type(exc).__module__.split(".")[0]
    return f"{package}.{type(exc).__qualname__}"


def http_status_of(exc: BaseException) -> int | None:
    """The HTTP status of a library's error: its public `status_code` (the `anthropic` SDK's
    `APIStatusError`, LiteLLM's exceptions), or that of the error it was raised from (a
    wrapper's `raise ... from`); None for a transport error, which has none."""
    for error in (exc, exc.__cause__):
        status = getattr(error, "status_code", None)
        if isinstance(status, int):
            return status
    return None


def one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class TransportCount:
    """Counts requests as an httpx / httpx2 `event_hooks={"request": [...]}` hook."""

    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, request: object) -> None:
        self.requests += 1


class SimulatorCount:
    """Requests read off the simulator's `GET /admin/stats`, for libraries that take no client.

    The count is the difference between the simulator's counts before and after the run:
    of the run's own key (the endpoint's `x-planner-run` header; exact however many runs
    share the simulator, as they do on a worker), else of all its requests (exact only
    while no other run uses it). Against an endpoint without admin stats it is None.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.url = endpoint.base_url.rstrip("/") + "/admin/stats"
        self.run = endpoint.headers.get(RUN_HEADER)
        self.field = "requests" if self.run is None else "run_requests"
        self.start = self._read()

    def _read(self) -> int | None:
        try:
            response = httpx2.get(
                self.url,
                params=None if self.run is None else {"run": self.run},
                timeout=_ADMIN_STATS_TIMEOUT_S,
                verify=shared_ssl_context(),
            )
            return int(response.json()[self.field]) if response.status_code == 200 else None
        except (httpx2.HTTPError, ValueError, KeyError, TypeError):
            return None

    @property
    def requests(self) -> int | None:
        end = self._read()
        return None if self.start is None or end is None else end - self.start


class RunRecorder:
    """What one run gathered: text handed to the consumer, tokens, requests, time.

    A contender calls `deliver` for every piece of text its library hands the consumer,
    `attempt_tokens` (or `add_tokens` / `estimate_tokens`) for each attempt's output, and
    `result` once at the end (`streamed`: both of the last, for a library that streams one
    answer).
    """

    def __init__(
        self,
        contender: Contender,
        requests: TransportCount | SimulatorCount,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.contender = contender
        self.counter = requests
        self.clock = clock
        self.started = clock()
        self.delivered_chars = 0
        self.output_tokens = 0
        self.tokens_estimated = False

    def deliver(self, text: str) -> None:
        self.delivered_chars += len(text)

    def add_tokens(self, tokens: int) -> None:
        """Output tokens the library's usage reported for a whole attempt."""
        self.output_tokens += tokens

    def estimate_tokens(self, text: str) -> None:
        """Output of an attempt the library reported no usage for: counted from its text."""
        self.output_tokens += count_tokens(text)
        self.tokens_estimated = True

    def attempt_tokens(self, text: str, reported: int | None) -> None:
        """An attempt's output tokens: what the library's usage `reported`, else (None: it
        reported none, or the attempt did not finish) counted from the attempt's text."""
        if reported is None:
            self.estimate_tokens(text)
        else:
            self.add_tokens(reported)

    def streamed(
        self,
        pieces: Sequence[str],
        output_tokens: int | None = None,
        *,
        error: BaseException | None = None,
    ) -> ContenderResult:
        """The result of a run whose library streamed `pieces` to the consumer. Its tokens
        are the usage the library reported (`output_tokens`), else counted from the text;
        a run that raised (`error`) has no final text, and its tokens are counted."""
        text = "".join(pieces)
        self.attempt_tokens(text, None if error is not None else output_tokens)
        return self.result("" if error is not None else text, error=error)

    def result(
        self, text: str, *, error: BaseException | None = None, claimed_success: bool | None = None
    ) -> ContenderResult:
        """The run's result; it claimed success unless it raised (or the caller says)."""
        duration_s = self.clock() - self.started
        return ContenderResult(
            contender=self.contender.name,
            text=text,
            claimed_success=error is None if claimed_success is None else claimed_success,
            delivered_chars=self.delivered_chars,
            output_tokens=self.output_tokens,
            tokens_estimated=self.tokens_estimated,
            requests=self.counter.requests,
            duration_s=duration_s,
            config=self.contender.config(),
            versions=self.contender.versions(),
            error_type=None if error is None else error_name(error),
            error_message=None if error is None else one_line(str(error)),
            http_status=None if error is None else http_status_of(error),
        )


def request_text_params(request: Mapping[str, Any]) -> tuple[str, Any, list[dict[str, Any]]]:
    """The model, the system prompt and the messages of a request (the parts every library
    maps); any other parameter is refused rather than silently dropped."""
    unknown = sorted(set(request) - {"model", "max_tokens", "system", "messages"})
    if unknown:
        raise UnsupportedRequest(
            f"contenders send model, max_tokens, system and messages only, not {unknown}"
        )
    return request["model"], request.get("system"), list(request["messages"])


__all__ = [
    "Contender",
    "ContenderResult",
    "Endpoint",
    "RunRecorder",
    "SimulatorCount",
    "TransportCount",
    "error_name",
    "http_status_of",
    "installed_versions",
    "request_text_params",
]
