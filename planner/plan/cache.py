"""The prompt cache ledger: what caching the system prompts saved a generation.

planner's system prompts are long and identical across requests, so they are marked with
`cache_control`. Anthropic bills a cache write at 1.25x the base input price and a cache
read at 0.1x; without caching every one of those tokens would have cost 1x. The ledger
adds up the usage of every request of a generation and estimates the saving against
sending the same prompts uncached.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.llm.types import Usage

CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.10

# Base input price in USD per million tokens, by model family (first match wins).
_INPUT_PRICE_PER_MTOK: tuple[tuple[str, float], ...] = (
    ("opus-4-5", 5.0),
    ("opus", 15.0),
    ("haiku-4", 1.0),
    ("haiku", 0.8),
    ("sonnet", 3.0),
)
DEFAULT_INPUT_PRICE_PER_MTOK = 3.0


def input_price_per_mtok(model: str) -> float:
    name = model.lower()
    return next(
        (price for key, price in _INPUT_PRICE_PER_MTOK if key in name), DEFAULT_INPUT_PRICE_PER_MTOK
    )


@dataclass
class PromptCacheLedger:
    """Cache creation/read tokens of one generation and the estimated saving."""

    model: str
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def record(self, usage: Usage) -> None:
        self.input_tokens += usage.input_tokens
        self.cache_creation_input_tokens += usage.cache_creation_input_tokens
        self.cache_read_input_tokens += usage.cache_read_input_tokens

    @property
    def saved_input_token_equivalents(self) -> float:
        """Tokens' worth of base-price input that caching saved (negative: it cost more)."""
        return self.cache_read_input_tokens * (
            1 - CACHE_READ_FACTOR
        ) - self.cache_creation_input_tokens * (CACHE_WRITE_FACTOR - 1)

    @property
    def estimated_saving_usd(self) -> float:
        return round(self.saved_input_token_equivalents * input_price_per_mtok(self.model) / 1e6, 6)

    def to_json(self) -> dict[str, float | int]:
        return {
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "estimated_saving_usd": self.estimated_saving_usd,
        }
