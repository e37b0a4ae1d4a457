"""The generation's cost ledger: what its requests cost and what prompt caching saved.

planner's system prompts are long and identical across requests, so they are marked with
`cache_control`. The ledger adds up the usage of every request of a generation and prices
it from the model catalogue (`planner.catalog`): `estimated_cost_usd` is what the tokens
cost (uncached input, output including wasted attempts, cache writes and reads), and
`estimated_saving_usd` is the difference from sending the same prompts uncached. A model
the catalogue does not know, or knows without prices, has no price: both figures are None,
never a neighbour's price.

Cache writes are priced at the 5-minute rate: that is the TTL planner's prompts ask for.
A price band chosen by prompt size (Haiku 5.5 above 100,000 tokens) applies per request:
the ledger remembers the largest prompt it recorded; a ledger rebuilt from stored totals
(`largest_prompt_tokens=0`) prices at the base band, which is where planner's requests,
all far below that size, are billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from planner.catalog import Usage as PricedUsage
from planner.catalog import lookup, requests_cost_usd, uncached
from planner.llm.types import Usage

_ROUND = Decimal("0.000001")


@dataclass
class PromptCacheLedger:
    """Token counts of one generation's requests and their estimated price."""

    model: str
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    largest_prompt_tokens: int = 0

    def record(self, usage: Usage) -> None:
        prompt = usage.input_tokens + usage.cache_creation_input_tokens
        self.largest_prompt_tokens = max(
            self.largest_prompt_tokens, prompt + usage.cache_read_input_tokens
        )
        self.input_tokens += usage.input_tokens
        self.cache_creation_input_tokens += usage.cache_creation_input_tokens
        self.cache_read_input_tokens += usage.cache_read_input_tokens
        self.output_tokens += usage.output_tokens

    def _cost(self, *, cached: bool) -> Decimal | None:
        spec = lookup(self.model)
        if spec is None:
            return None
        usage = PricedUsage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_write_5m_tokens=self.cache_creation_input_tokens,
            cache_read_tokens=self.cache_read_input_tokens,
        )
        return requests_cost_usd(
            spec,
            [usage if cached else uncached(usage)],
            band_prompt_tokens=self.largest_prompt_tokens,
        )

    @property
    def estimated_cost_usd(self) -> float | None:
        """What the generation's tokens cost on its model; None when it has no price."""
        cost = self._cost(cached=True)
        return None if cost is None else float(cost.quantize(_ROUND))

    @property
    def estimated_saving_usd(self) -> float | None:
        """What caching saved against sending every prompt uncached (negative: it cost)."""
        cached, uncached = self._cost(cached=True), self._cost(cached=False)
        if cached is None or uncached is None:
            return None
        return float((uncached - cached).quantize(_ROUND))

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "estimated_saving_usd": self.estimated_saving_usd,
            "estimated_cost_usd": self.estimated_cost_usd,
        }
