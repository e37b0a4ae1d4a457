"""What the simulator serves of a model name: its catalogue entry, the API's rules, its pace.

Every fact comes from `planner.catalog`, the one model catalogue the client side reads
too: a name the catalogue lacks is unknown and a retired model is no longer served (both
a 404 `not_found_error`, as on the API). Output cap, context window, prefill, thinking
default, which thinking types are taken (manual budgets up to the 4.6 generation, adaptive
from it: `ModelSpec.budget_thinking`, `adaptive_thinking`) and cache minimum are the
catalogue's figures.

What the catalogue does not hold, the rules of the effort parameter and of the thinking
display, is derived here from the release generation, as the documentation states it
(read 2026-12-01; where the SDK says otherwise, the SDK's types win):

- `output_config.effort` is accepted from Opus 4.5 on; `xhigh` from Opus 4.7 on (the SDK's
  `EffortCapability.xhigh` is optional: not every model has it);
- thinking is shown `summarized` by default up to the 4.6 generation and `omitted` from
  Opus 4.7 on (the docs' "Controlling thinking display"; the SDK says only "the default
  depends on the model").

Pace is per line: about 1.2 s to the first token and ~130 output tokens a second for a
Sonnet, so a 17,000-token MasterPlan streams in a little over two minutes (the original
system saw its server cut such streams at about 134 s).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from planner.catalog import ModelSpec, ThinkingDefault, lookup

OPUS_4_5_RELEASED = date(2025, 11, 24)  # effort from here on
OPUS_4_7_RELEASED = date(2026, 4, 16)  # thinking omitted by default, xhigh

_PACE = {  # line -> (time to first token, output tokens per second)
    "haiku": (0.6, 260.0),
    "sonnet": (1.2, 130.0),
    "opus": (2.0, 70.0),
    "fable": (1.6, 90.0),
    "mythos": (2.4, 60.0),
}
# the catalogue has a figure for every served model; these only cover a None
_DEFAULT_OUTPUT_CAP = 64_000
_DEFAULT_CONTEXT_WINDOW = 200_000


@dataclass(frozen=True)
class ModelProfile:
    """One served model as the simulator enforces it."""

    name: str
    spec: ModelSpec
    ttft_s: float
    tokens_per_s: float

    @property
    def max_output_tokens(self) -> int:
        return self.spec.max_output_tokens or _DEFAULT_OUTPUT_CAP

    @property
    def context_window(self) -> int:
        return self.spec.context_window or _DEFAULT_CONTEXT_WINDOW

    @property
    def supports_prefill(self) -> bool:
        return bool(self.spec.accepts_prefill)

    @property
    def thinking_default(self) -> ThinkingDefault:
        return self.spec.thinking_default or "off"

    @property
    def min_cacheable_tokens(self) -> int | None:
        return self.spec.min_cacheable_tokens

    def _released_on_or_after(self, day: date) -> bool:
        return self.spec.released is not None and self.spec.released >= day

    @property
    def accepts_budget_thinking(self) -> bool:
        return self.spec.budget_thinking

    @property
    def accepts_adaptive_thinking(self) -> bool:
        return self.spec.adaptive_thinking

    @property
    def thinking_off_type(self) -> str | None:
        """The one `thinking.type` that turns thinking off here (`disabled`, or
        `between_tools` on the model that takes it instead); None: it always thinks."""
        return self.spec.thinking_off_type

    @property
    def effort_levels(self) -> tuple[str, ...]:
        if not self._released_on_or_after(OPUS_4_5_RELEASED):
            return ()
        if self._released_on_or_after(OPUS_4_7_RELEASED):
            return ("low", "medium", "high", "xhigh", "max")
        return ("low", "medium", "high", "max")

    @property
    def omits_thinking_by_default(self) -> bool:
        return self._released_on_or_after(OPUS_4_7_RELEASED)


def served_model(name: str, today: Callable[[], date] = date.today) -> ModelProfile | None:
    """The profile of a model the API serves today; None for an unknown or retired one."""
    spec = lookup(name)
    if spec is None or spec.lifecycle(today()) == "retired":
        return None
    ttft_s, tokens_per_s = _PACE[spec.line]
    return ModelProfile(name, spec, ttft_s, tokens_per_s)


__all__ = ["ModelProfile", "served_model"]
