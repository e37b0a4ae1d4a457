"""Whether a request may be continued with an assistant prefill, decided before sending.

A refused prefill costs a whole request (a 400), so the client never spends one to find
out what is already known. The answer, most certain first:

- a request with structured outputs (`output_config.format`) or with thinking on (asked for
  in `thinking`, or by the model's catalogued default `on` / `always`) cannot be prefilled:
  the API refuses a prefill with either;
- a catalogued model says itself (`planner.catalog`: refused from the 4.6 generation on and
  by every 5.x model);
- a model the catalogue does not know is tried once; if it refuses, that is remembered for
  the rest of the process (`ModelCapabilities.learn_prefill_refused`), so every later
  generation on it continues with a user turn from the start.

`PROCESS_CAPABILITIES` is the one store a process shares (generation clients are made per
generation); a client may be handed its own for tests.
"""

from __future__ import annotations

import threading
from typing import Any

from planner import catalog

THINKING_ON_TYPES = frozenset({"enabled", "adaptive", "between_tools"})


def thinking_requested(request: dict[str, Any]) -> bool:
    """Whether the model will think before answering this request, as far as is known."""
    spec = catalog.lookup(str(request.get("model", "")))
    default = spec.thinking_default if spec is not None else None
    if default == "always":
        return True
    thinking = request.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") is not None:
        return thinking.get("type") in THINKING_ON_TYPES
    return default == "on"


def structured_output_requested(request: dict[str, Any]) -> bool:
    config = request.get("output_config")
    return isinstance(config, dict) and config.get("format") is not None


class ModelCapabilities:
    """What this process has learned about models the catalogue does not describe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refuses_prefill: set[str] = set()

    def prefill_allowed(self, request: dict[str, Any]) -> bool:
        """False when a prefill on this request is known to be refused (see the module)."""
        if structured_output_requested(request) or thinking_requested(request):
            return False
        model = str(request.get("model", ""))
        spec = catalog.lookup(model)
        if spec is not None and spec.accepts_prefill is not None:
            return spec.accepts_prefill
        with self._lock:
            return model not in self._refuses_prefill

    def learn_prefill_refused(self, model: str) -> None:
        with self._lock:
            self._refuses_prefill.add(model)

    def learned_prefill_refused(self, model: str) -> bool:
        with self._lock:
            return model in self._refuses_prefill


PROCESS_CAPABILITIES = ModelCapabilities()
