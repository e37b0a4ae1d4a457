"""What planner and its simulator say to each other beside the Messages API, in one place.

Both sides import this module and nothing of each other: the generator (the client
side) sends these headers, the simulator reads them.

- Headers, sent only to the simulator or an `ANTHROPIC_BASE_URL` endpoint, never to the
  real API: `x-planner-faults` (a fault spec for this request), `x-planner-run` (the run
  key requests are counted under), `x-planner-seed`, `x-planner-speed`.
- A run key is `<run id>:<scope>`; planner's generator sends `<generation id>:<stage>`.
  The simulator numbers requests per whole key (for a fault's `on_requests`) but draws
  faults and answers from the scope only, so two generations with the same seed meet the
  same failures at the same places: experiments are reproducible. A repair round is sent
  under its stage's scope, so it continues that stage's request count.
- A response header the simulator sends with every message, for a reference client only:
  `x-planner-answer-from-char`, where in the model's full answer this reply's text starts
  (0 for a fresh answer; after a prefill or a continuation turn, the character its first
  delta continues from). The oracle contender (`planner.contenders.oracle`) reads it to
  drop exactly the overlap a continuation repeats; planner's own client must not, or it
  would know what a real API never tells. A continuation turn may open with text that is
  not the answer's (a preamble, a reopened code fence, a reworded restart of the cut
  line) and end with some (a closing fence): `x-planner-answer-preamble-chars` and
  `x-planner-answer-trailer-chars` count them, and `x-planner-answer-from-char` is where
  the text after the preamble starts in the full answer.
- The HTTP error statuses the simulator can inject, which the client classifies and a
  recorded failure is replayed with.
"""

from __future__ import annotations

from dataclasses import dataclass

FAULTS_HEADER = "x-planner-faults"
RUN_HEADER = "x-planner-run"
SEED_HEADER = "x-planner-seed"
SPEED_HEADER = "x-planner-speed"
PLANNER_HEADERS = (FAULTS_HEADER, RUN_HEADER, SEED_HEADER, SPEED_HEADER)
ANSWER_FROM_HEADER = "x-planner-answer-from-char"
ANSWER_PREAMBLE_HEADER = "x-planner-answer-preamble-chars"
ANSWER_TRAILER_HEADER = "x-planner-answer-trailer-chars"

RUN_KEY_SEPARATOR = ":"

# What the API answers when billing stops it (402), a request conflicts (409), a body is
# too large (413, from the proxy in front of it), it is rate limiting or a spend cap is
# reached (429), failing (500, 503), timing out (504) or overloaded (529): the statuses
# an `http_error` fault may inject, so the ones a replayed failure can be given.
HTTP_ERROR_STATUSES = (402, 409, 413, 429, 500, 503, 504, 529)
# What the API answers a request it refuses as such: malformed or over a limit (400),
# unauthenticated (401), forbidden (403), naming an unknown or retired model (404) or
# unprocessable (422). No fault injects these, so a run that met one could not have run
# whatever the network did: experiments count it as a configuration error, not a failure.
REQUEST_REFUSED_STATUSES = (400, 401, 403, 404, 422)


@dataclass(frozen=True)
class RunKey:
    """The key a simulator counts one run's requests under: `<run_id>:<scope>`."""

    run_id: str
    scope: str

    def __str__(self) -> str:
        return f"{self.run_id}{RUN_KEY_SEPARATOR}{self.scope}" if self.run_id else self.scope

    @classmethod
    def parse(cls, text: str) -> RunKey:
        """The key of a header value; without a separator all of it is the scope."""
        run_id, _, scope = text.rpartition(RUN_KEY_SEPARATOR)
        return cls(run_id, scope)


__all__ = [
    "ANSWER_FROM_HEADER",
    "ANSWER_PREAMBLE_HEADER",
    "ANSWER_TRAILER_HEADER",
    "FAULTS_HEADER",
    "HTTP_ERROR_STATUSES",
    "PLANNER_HEADERS",
    "REQUEST_REFUSED_STATUSES",
    "RUN_HEADER",
    "RUN_KEY_SEPARATOR",
    "SEED_HEADER",
    "SPEED_HEADER",
    "RunKey",
]
