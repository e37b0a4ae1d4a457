"""Thinking as current models do it: which requests think, how much, and what is refused.

A request's `thinking` (`{type: enabled, budget_tokens}`, `{type: adaptive}`,
`{type: disabled}`, `{type: between_tools}`, each with an optional `display`) and
`output_config.effort` are checked against the model's rules (`planner.sim.models`) and
resolved into a `ThinkingPlan`: whether the model thinks, how it is shown, and how many
tokens it spends. Without `thinking`, a model whose catalogue default is `on` or `always`
thinks adaptively, one whose default is `off` does not.

How much: a budget (`enabled`) is used up to its size; adaptive thinking scales with the
effort (`high` by default) and, at `low`, may skip thinking altogether, as the docs say
adaptive thinking does. The draw is seeded, so the same request thinks the same thoughts.
Thinking tokens count in `max_tokens` (the caller's cap covers thinking and text), so a
small `max_tokens` runs out while the model is still thinking.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from typing import Any

from planner.sim.models import ModelProfile
from planner.sim.vocabulary import keywords
from planner.tokens import split_tokens

MIN_BUDGET_TOKENS = 1024
THINKING_TYPES = ("adaptive", "between_tools", "disabled", "enabled")
DISPLAYS = ("summarized", "omitted")
EFFORTS = ("low", "medium", "high", "xhigh", "max")
DEFAULT_EFFORT = "high"
# adaptive thinking: typical tokens at each effort (the draw is 0.5x to 1.5x of it)
ADAPTIVE_TOKENS = {"low": 60, "medium": 200, "high": 400, "xhigh": 900, "max": 1800}
LOW_EFFORT_SKIP = 0.5  # at low effort, adaptive thinking is skipped this often

BUDGET_BELOW_MAX_TOKENS = (
    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
    "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
    "#max-tokens-and-context-window-size"
)
PREFILL_WITH_THINKING = (
    "Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is "
    "enabled, a final `assistant` message must start with a thinking block (preceeding the "
    "lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking "
    "blocks from previous turns. To avoid this requirement, disable `thinking`. Please "
    "consult our documentation at https://docs.claude.com/en/docs/build-with-claude/"
    "extended-thinking"
)
BUDGET_THINKING_REFUSED = (
    'thinking.type.enabled is not supported for this model. Use thinking.type "adaptive" '
    "and output_config.effort to control thinking behavior."
)
ADAPTIVE_THINKING_REFUSED = 'thinking.type "adaptive" is not supported for this model.'
DISABLED_THINKING_REFUSED = (
    "thinking cannot be disabled for this model: it always thinks. Use "
    "output_config.effort to control how much."
)
DISABLED_USE_BETWEEN_TOOLS = (
    'thinking.type "disabled" is not supported for this model. Use thinking.type '
    '"between_tools" to turn off up-front thinking.'
)
BETWEEN_TOOLS_REFUSED = 'thinking.type "between_tools" is not supported for this model.'
BETWEEN_TOOLS_EFFORT_REFUSED = (
    'thinking.type "between_tools" is supported at output_config.effort "low", "medium" '
    'and "high" only. Use thinking.type "adaptive" to run at "xhigh" or "max".'
)
EFFORT_REFUSED = "output_config.effort: this model does not support the effort parameter."


class ThinkingRefused(ValueError):
    """A `thinking` / effort setting the API refuses (400); the message is the API's."""


@dataclass(frozen=True)
class ThinkingPlan:
    """What one request's thinking is: off, or on with a display and a size rule."""

    enabled: bool = False
    display: str = "summarized"
    budget_tokens: int | None = None  # `enabled`: at most this many thinking tokens
    effort: str = DEFAULT_EFFORT

    @property
    def omitted(self) -> bool:
        return self.display == "omitted"

    def tokens(self, rng: random.Random) -> int:
        """How many tokens the model thinks for (before max_tokens cuts it)."""
        if not self.enabled:
            return 0
        if self.budget_tokens is not None:
            return rng.randint(self.budget_tokens // 2, self.budget_tokens)
        if self.effort == "low" and rng.random() < LOW_EFFORT_SKIP:
            return 0
        typical = ADAPTIVE_TOKENS[self.effort]
        return max(1, round(typical * rng.uniform(0.5, 1.5)))


OFF = ThinkingPlan()


def _effort(body: dict[str, Any], profile: ModelProfile) -> str:
    config = body.get("output_config")
    if config is None:
        return DEFAULT_EFFORT
    if not isinstance(config, dict):
        raise ThinkingRefused("output_config: Input should be a valid dictionary")
    effort = config.get("effort")
    if effort is None:
        return DEFAULT_EFFORT
    if effort not in EFFORTS:
        raise ThinkingRefused(
            "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
        )
    if not profile.effort_levels:
        raise ThinkingRefused(EFFORT_REFUSED)
    if effort not in profile.effort_levels:
        raise ThinkingRefused(f"output_config.effort: {effort!r} is not supported by this model.")
    return effort


def _display(config: dict[str, Any], kind: str, profile: ModelProfile) -> str:
    display = config.get("display")
    if display is None:
        return "omitted" if profile.omits_thinking_by_default else "summarized"
    if display not in DISPLAYS:
        raise ThinkingRefused(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
    return display


def resolve_thinking(body: dict[str, Any], profile: ModelProfile) -> ThinkingPlan:
    """The request's thinking on this model; ThinkingRefused with the API's 400 message."""
    effort = _effort(body, profile)
    config = body.get("thinking")
    if config is None:
        if profile.thinking_default == "off":
            return ThinkingPlan(effort=effort)
        config = {"type": "adaptive"}
    if not isinstance(config, dict):
        raise ThinkingRefused("thinking: Input should be a valid dictionary")
    kind = config.get("type")
    if kind not in THINKING_TYPES:
        expected = ", ".join(f"'{name}'" for name in THINKING_TYPES)
        raise ThinkingRefused(
            f"thinking: Input tag {kind!r} found using 'type' does not match any of the "
            f"expected tags: {expected}"
        )
    if kind in ("disabled", "between_tools"):
        # Each model takes one way to turn thinking off (the troubleshooting page's table):
        # `between_tools` only on the model that takes it instead of `disabled`.
        off = profile.thinking_off_type
        if off is None:
            raise ThinkingRefused(DISABLED_THINKING_REFUSED)
        if kind != off:
            raise ThinkingRefused(
                DISABLED_USE_BETWEEN_TOOLS if kind == "disabled" else BETWEEN_TOOLS_REFUSED
            )
        if not profile.spec.turns_thinking_off_at(effort):
            raise ThinkingRefused(BETWEEN_TOOLS_EFFORT_REFUSED)
        return ThinkingPlan(effort=effort)
    if kind == "adaptive":
        if not profile.accepts_adaptive_thinking:
            raise ThinkingRefused(ADAPTIVE_THINKING_REFUSED)
        return ThinkingPlan(True, _display(config, kind, profile), effort=effort)
    if not profile.accepts_budget_thinking:
        raise ThinkingRefused(BUDGET_THINKING_REFUSED)
    budget = config.get("budget_tokens")
    if budget is None:
        raise ThinkingRefused("thinking.enabled.budget_tokens: Field required")
    if not isinstance(budget, int) or isinstance(budget, bool):
        raise ThinkingRefused("thinking.enabled.budget_tokens: Input should be a valid integer")
    if budget < MIN_BUDGET_TOKENS:
        raise ThinkingRefused(
            f"thinking.enabled.budget_tokens: Input should be greater than or equal to "
            f"{MIN_BUDGET_TOKENS}"
        )
    if budget >= body["max_tokens"]:
        raise ThinkingRefused(BUDGET_BELOW_MAX_TOKENS)
    return ThinkingPlan(True, _display(config, kind, profile), budget, effort)


_THOUGHTS = (
    "The user is asking about {k}, so I should work out what matters most first.",
    "Let me consider how {k} relates to the rest of the request.",
    "I need to keep the answer consistent with what was said about {k}.",
    "One option is to start from {k} and build outwards; another is to list the parts.",
    "I should check the constraints on {k} before writing anything.",
    "Structure matters here: {k} should come out clearly in the answer.",
    "I will make sure the numbers and names around {k} agree with each other.",
)


def thinking_tokens(prompt: str, count: int, rng: random.Random) -> list[str]:
    """`count` tokens of deterministic reasoning about the prompt's own words."""
    if count <= 0:
        return []
    words = keywords(prompt, limit=6)
    tokens: list[str] = []
    while len(tokens) < count:
        sentence = rng.choice(_THOUGHTS).format(k=rng.choice(words))
        tokens += split_tokens(sentence + (" " if len(tokens) % 3 else "\n\n"))
    return tokens[:count]


def signature(thinking: str, identity: str) -> str:
    """An opaque signature for a thinking block, stable for the same thinking."""
    digest = hashlib.sha512((identity + "\x00" + thinking).encode()).digest()
    return base64.b64encode(digest + hashlib.sha256(digest).digest()).decode()


__all__ = [
    "OFF",
    "PREFILL_WITH_THINKING",
    "ThinkingPlan",
    "ThinkingRefused",
    "resolve_thinking",
    "signature",
    "thinking_tokens",
]
