"""The model catalogue: every model the installed SDK knows, with what planner must know of it.

One data module in the base layer, so that the client side and the simulator (which must
not import each other) read the same facts: lifecycle, whether an assistant prefill is
accepted, the thinking default, output cap, context window, cache minimum and prices.
A model that is not here is unknown: `lookup` returns None and nothing is guessed from
a version number. A figure no source gave is None, never a neighbour's figure.

Where each figure comes from (all read on 2026-12-01; where the SDK and the docs
disagree, the SDK wins):

- Names: `anthropic/types/model.py` (the `Model` literal, SDK 2.15.0). Claude Sonnet 4.5
  (`claude-sonnet-4-5`, `claude-sonnet-4-5-20250929`) is in SDK 2.14's literal only; it is
  kept here as retired so planner can refuse it by name.
- End-of-life dates: `anthropic/_data/deprecated_models.py` (2.15; Sonnet 4.5 from 2.14).
  A model is retired from its end-of-life date on, deprecated before it, active without
  one. The Models API (`GET /v1/models/{id}`, `ModelInfo.lifecycle`) is the live signal.
- Lines: `anthropic/types/model_line.py`. Replacements: the model pages' "consider
  migrating to" links and the Model deprecations page
  (platform.claude.com/docs/en/about-claude/model-deprecations); Claude Mythos 5 is named
  "successor to Claude Mythos Preview" on "Introducing Claude Fable 5 and Claude Mythos 5".
- Context window, max output, release date: each model's page,
  platform.claude.com/docs/en/models/<model>/overview, and its "What's new" page.
- Thinking: the table on "Troubleshooting thinking"
  (platform.claude.com/docs/en/build-with-claude/thinking-troubleshooting): `always`
  cannot be disabled (Fable, Mythos, Opus 5.5); `on` is on by default and can be turned
  off (Opus 5, Sonnet 5, Sonnet 5.5 via `between_tools`, Haiku 5.5); `off` runs without
  thinking unless asked (the 4.x models).
- Thinking types: the same page. Manual extended thinking (`enabled` + `budget_tokens`) is
  accepted by the 4.6 models (deprecated) and earlier, refused from 4.7 on; only Sonnet 5.5
  accepts `between_tools`, which it takes instead of `disabled` (refused there with a 400).
- Prefill: refused (400) from the 4.6 generation on and by every 5.x model ("What's new in
  Claude 4.6", prefill removal; each 5.x migration guide); accepted by 4.5 and earlier.
- Prices (USD per million tokens): platform.claude.com/docs/en/about-claude/pricing and the
  model pages. Sonnet 5.5 cache reads are $0.10 (its migration guide; an older copy of its
  overview says $0.20). Haiku 5.5 has a second band for prompts over 100,000 tokens
  (input + cache reads + cache writes), applied to every token of that request. Fable 5.2 /
  Mythos 5.2 prices come from third-party price trackers that cite the pricing page (the
  stored docs gave the specs, not the price rows); Sonnet 4.x and Haiku 4.5 cache prices
  apply the pricing page's multipliers (5 min write 1.25x, 1 h write 2x, read 0.1x).
- Minimum cacheable prompt: the prompt caching page as quoted in anthropic-sdk-python
  issue 1194 (Opus 4.5/4.6, Haiku 4.5, Sonnet 4.5/4.6) and by trackers citing it (Opus
  4.7 2,048, Opus 4.8 and Sonnet 5 1,024, 512 for Opus 5 and Fable/Mythos 5 and 5.1).
  No source gave it for the 5.5 generation or Fable/Mythos 5.2: None.
- Claude Mythos Preview: invitation-only and retired; no source gave its limits or prices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from planner.errors import ConfigError

Lifecycle = Literal["active", "deprecated", "retired"]
ModelLine = Literal["haiku", "sonnet", "opus", "fable", "mythos"]
ThinkingDefault = Literal["off", "on", "always"]
BETWEEN_TOOLS_EFFORTS = ("low", "medium", "high")  # the efforts `between_tools` runs at

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Prices:
    """USD per million tokens of each kind."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal


@dataclass(frozen=True)
class LongPromptPrices:
    """A second price band for requests whose prompt is over `above_tokens` tokens."""

    above_tokens: int
    prices: Prices


@dataclass(frozen=True)
class Usage:
    """Token counts of one request, as the API's `usage` reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        """The whole prompt: uncached input plus what was read from and written to cache."""
        return (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_5m_tokens
            + self.cache_write_1h_tokens
        )


@dataclass(frozen=True)
class ModelSpec:
    """One catalogued model; None where no source gave the figure."""

    name: str
    line: ModelLine
    released: date | None
    accepts_prefill: bool | None
    thinking_default: ThinkingDefault | None
    max_output_tokens: int | None
    context_window: int | None
    min_cacheable_tokens: int | None
    prices: Prices | None
    end_of_life: date | None = None
    replacement: str | None = None
    long_prompt: LongPromptPrices | None = None
    aliases: tuple[str, ...] = field(default=())
    budget_thinking: bool = False
    """Accepts manual extended thinking (`thinking: {type: enabled, budget_tokens}`): the
    4.6 models (deprecated there) and earlier; 4.7 and later refuse it with a 400."""
    adaptive_thinking: bool = True
    """Accepts `thinking: {type: adaptive}`; the 4.5 models know only manual thinking."""
    off_with_between_tools: bool = False
    """Thinking is turned off with `between_tools`, and `disabled` is refused (Sonnet 5.5)."""

    @property
    def thinking_off_type(self) -> str | None:
        """The `thinking.type` that turns thinking off; None where it cannot be."""
        if self.thinking_default == "always":
            return None
        return "between_tools" if self.off_with_between_tools else "disabled"

    def turns_thinking_off_at(self, effort: str | None) -> bool:
        """Whether thinking can be turned off at this effort (None: the API's default):
        `between_tools` runs at low, medium and high effort only."""
        if self.thinking_off_type is None:
            return False
        return self.thinking_off_type != "between_tools" or effort in (None, *BETWEEN_TOOLS_EFFORTS)

    def lifecycle(self, today: date | None = None) -> Lifecycle:
        if self.end_of_life is None:
            return "active"
        return "retired" if (today or date.today()) >= self.end_of_life else "deprecated"

    def prices_for(self, prompt_tokens: int) -> Prices | None:
        """The band a request with this many prompt tokens is billed at."""
        band = self.long_prompt
        if band is not None and prompt_tokens > band.above_tokens:
            return band.prices
        return self.prices


class RetiredModelError(ConfigError):
    """The model named has reached end of life; the message names its replacement."""


@dataclass(frozen=True)
class ModelCheck:
    """What `check_model` found: the spec (None when unknown) and at most one warning line."""

    name: str
    spec: ModelSpec | None
    warning: str | None = None

    @property
    def known(self) -> bool:
        return self.spec is not None


def _usd(input_: str, output: str, write_5m: str, write_1h: str, read: str) -> Prices:
    return Prices(*(Decimal(value) for value in (input_, output, write_5m, write_1h, read)))


_M, _K = 1_000_000, 1_000
_1M_128K = {"context_window": _M, "max_output_tokens": 128 * _K}
_200K_64K = {"context_window": 200 * _K, "max_output_tokens": 64 * _K}
_NO_PREFILL = {"accepts_prefill": False}

_FABLE_5_2 = _usd("8", "40", "10", "16", "0.20")
_FABLE_5_1 = _usd("10", "50", "12.50", "20", "0.25")
_FABLE_5 = _usd("10", "50", "12.50", "20", "1")
_OPUS_4_5_TO_5 = _usd("5", "25", "6.25", "10", "0.50")
_SONNET_4 = _usd("3", "15", "3.75", "6", "0.30")

# One row per model, aligned as a table: the formatter would spread each over ten lines.
# fmt: off
MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("claude-fable-5-2", "fable", date(2026, 11, 9), thinking_default="always",
              min_cacheable_tokens=None, prices=_FABLE_5_2, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-mythos-5-2", "mythos", date(2026, 11, 9), thinking_default="always",
              min_cacheable_tokens=None, prices=_FABLE_5_2, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-haiku-5-5", "haiku", date(2026, 10, 7), thinking_default="on",
              min_cacheable_tokens=None, prices=_usd("0.10", "0.50", "0.125", "0.20", "0.01"),
              long_prompt=LongPromptPrices(
                  100_000, _usd("0.50", "2.50", "0.625", "1", "0.05")),
              **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-sonnet-5-5", "sonnet", date(2026, 9, 28), thinking_default="on",
              min_cacheable_tokens=None, prices=_usd("2", "10", "2.50", "4", "0.10"),
              off_with_between_tools=True, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-fable-5-1", "fable", date(2026, 9, 1), thinking_default="always",
              min_cacheable_tokens=512, prices=_FABLE_5_1, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-opus-5-5", "opus", date(2026, 9, 22), thinking_default="always",
              min_cacheable_tokens=None, prices=_usd("4", "20", "5", "8", "0.20"),
              **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-mythos-5-1", "mythos", date(2026, 9, 1), thinking_default="always",
              min_cacheable_tokens=512, prices=_FABLE_5_1, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-sonnet-5", "sonnet", date(2026, 6, 30), thinking_default="on",
              min_cacheable_tokens=1024, prices=_usd("2", "10", "2.50", "4", "0.20"),
              **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-fable-5", "fable", date(2026, 6, 9), thinking_default="always",
              min_cacheable_tokens=512, prices=_FABLE_5, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-mythos-5", "mythos", date(2026, 6, 9), thinking_default="always",
              min_cacheable_tokens=512, prices=_FABLE_5, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-opus-5", "opus", date(2026, 7, 24), thinking_default="on",
              min_cacheable_tokens=512, prices=_OPUS_4_5_TO_5, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-opus-4-8", "opus", date(2026, 5, 28), thinking_default="off",
              min_cacheable_tokens=1024, prices=_OPUS_4_5_TO_5, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-opus-4-7", "opus", date(2026, 4, 16), thinking_default="off",
              min_cacheable_tokens=2048, prices=_OPUS_4_5_TO_5, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-mythos-preview", "mythos", None, accepts_prefill=None,
              thinking_default="always", max_output_tokens=None, context_window=None,
              min_cacheable_tokens=None, prices=None,
              end_of_life=date(2026, 6, 30), replacement="claude-mythos-5",
              budget_thinking=True),
    ModelSpec("claude-opus-4-6", "opus", date(2026, 2, 5), thinking_default="off",
              min_cacheable_tokens=4096, prices=_OPUS_4_5_TO_5,
              budget_thinking=True, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-sonnet-4-6", "sonnet", date(2026, 2, 17), thinking_default="off",
              min_cacheable_tokens=1024, prices=_SONNET_4,
              budget_thinking=True, **_1M_128K, **_NO_PREFILL),
    ModelSpec("claude-haiku-4-5-20251001", "haiku", date(2025, 10, 15), accepts_prefill=True,
              thinking_default="off", min_cacheable_tokens=4096,
              prices=_usd("1", "5", "1.25", "2", "0.10"), aliases=("claude-haiku-4-5",),
              budget_thinking=True, adaptive_thinking=False, **_200K_64K),
    ModelSpec("claude-opus-4-5-20251101", "opus", date(2025, 11, 24), accepts_prefill=True,
              thinking_default="off", min_cacheable_tokens=4096, prices=_OPUS_4_5_TO_5,
              end_of_life=date(2027, 1, 22), replacement="claude-opus-5-5",
              aliases=("claude-opus-4-5",),
              budget_thinking=True, adaptive_thinking=False, **_200K_64K),
    ModelSpec("claude-sonnet-4-5-20250929", "sonnet", date(2025, 9, 29), accepts_prefill=True,
              thinking_default="off", min_cacheable_tokens=1024, prices=_SONNET_4,
              end_of_life=date(2026, 11, 30), replacement="claude-sonnet-5-5",
              aliases=("claude-sonnet-4-5",),
              budget_thinking=True, adaptive_thinking=False, **_200K_64K),
)
# fmt: on

_BY_NAME: dict[str, ModelSpec] = {
    name: spec for spec in MODELS for name in (spec.name, *spec.aliases)
}


def lookup(name: str) -> ModelSpec | None:
    """The catalogued model of this name or alias; None for a model the catalogue lacks."""
    return _BY_NAME.get(name)


def default_model(today: date | None = None) -> ModelSpec:
    """The current Sonnet: the most recently released Sonnet that is active `today`."""
    sonnets = [
        spec
        for spec in MODELS
        if spec.line == "sonnet" and spec.released and spec.lifecycle(today) == "active"
    ]
    return max(sonnets, key=lambda spec: spec.released or date.min)


def check_model(name: str, *, today: date | None = None) -> ModelCheck:
    """Whether `name` may be sent: raises for a retired model, warns once for a deprecated one.

    An unknown model comes back with `spec=None`; the caller decides (ask the Models API,
    or send and learn).
    """
    spec = lookup(name)
    if spec is None:
        return ModelCheck(name, None)
    lifecycle = spec.lifecycle(today)
    if lifecycle == "retired":
        raise RetiredModelError(
            f"model {name} reached end of life on {spec.end_of_life:%Y-%m-%d} and is no "
            f"longer served; use {spec.replacement} instead"
        )
    if lifecycle == "deprecated":
        return ModelCheck(
            name,
            spec,
            f"model {name} is deprecated and reaches end of life on "
            f"{spec.end_of_life:%Y-%m-%d}; move to {spec.replacement}",
        )
    return ModelCheck(name, spec)


def cost_usd(
    spec: ModelSpec, usage: Usage, *, band_prompt_tokens: int | None = None
) -> Decimal | None:
    """What `usage` costs on `spec` in USD; None when the catalogue has no prices for it.

    The price band is chosen by one request's prompt size: `usage`'s own, or, for a sum of
    several requests, `band_prompt_tokens` (the largest single prompt among them).
    """
    band = usage.prompt_tokens if band_prompt_tokens is None else band_prompt_tokens
    prices = spec.prices_for(band)
    if prices is None:
        return None
    total = (
        usage.input_tokens * prices.input
        + usage.output_tokens * prices.output
        + usage.cache_write_5m_tokens * prices.cache_write_5m
        + usage.cache_write_1h_tokens * prices.cache_write_1h
        + usage.cache_read_tokens * prices.cache_read
    )
    return total / MILLION


def uncached(usage: Usage) -> Usage:
    """The same request with every prompt token billed as plain input: no cache at all."""
    return Usage(input_tokens=usage.prompt_tokens, output_tokens=usage.output_tokens)


def requests_cost_usd(
    spec: ModelSpec, requests: Iterable[Usage], *, band_prompt_tokens: int | None = None
) -> Decimal | None:
    """What these requests cost together on `spec`; None when it has no prices for one."""
    total = Decimal(0)
    for usage in requests:
        cost = cost_usd(spec, usage, band_prompt_tokens=band_prompt_tokens)
        if cost is None:
            return None
        total += cost
    return total


__all__ = [
    "BETWEEN_TOOLS_EFFORTS",
    "MODELS",
    "Lifecycle",
    "LongPromptPrices",
    "ModelCheck",
    "ModelLine",
    "ModelSpec",
    "Prices",
    "RetiredModelError",
    "ThinkingDefault",
    "Usage",
    "check_model",
    "cost_usd",
    "default_model",
    "lookup",
    "requests_cost_usd",
    "uncached",
]
