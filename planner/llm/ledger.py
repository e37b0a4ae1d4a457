"""Token and cost accounting across attempts: usage summed, output wasted, dollars.

Each attempt leaves a `Contribution`: the span of the answer it wrote, everything it
received and its thinking. A later attempt that writes from char N cuts every earlier
attempt's text after N (restart: N = 0; resume: N = the kept text), so at the end each
attempt still owns a known span of the final text; whatever else it received was generated
for nothing. Thinking is never part of the text: an attempt's thinking counts as wasted
when none of its text is kept (it died while thinking, or its text was thrown away), and
as the price of its text otherwise.

Prices come from the model catalogue (`planner.catalog.cost_usd`), per request, so a
request over a long-prompt band is priced at that band; the saving is what the same
requests would have cost with every cache read and write billed as plain input. A model
the catalogue does not price gives None, never a neighbour's price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from planner import catalog
from planner.llm.types import Usage
from planner.tokens import count_tokens


@dataclass(frozen=True)
class Contribution:
    start_char: int
    end_char: int
    received: str
    text_tokens: int
    thinking_tokens: int
    usage_reported: bool


@dataclass(frozen=True)
class Waste:
    output_tokens: int
    thinking_tokens: int


def _catalog_usage(usage: Usage) -> catalog.Usage:
    write_1h = usage.cache_creation_1h_input_tokens
    return catalog.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_write_5m_tokens=max(0, usage.cache_creation_input_tokens - write_1h),
        cache_write_1h_tokens=write_1h,
        cache_read_tokens=usage.cache_read_input_tokens,
    )


@dataclass
class Ledger:
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    contributions: list[Contribution] = field(default_factory=list)
    requests: list[catalog.Usage] = field(default_factory=list)

    def add(
        self,
        start_char: int,
        chars: int,
        received: str,
        usage: Usage,
        usage_reported: bool,
        *,
        thinking: str = "",
        thinking_reported: bool = False,
    ) -> tuple[int, int]:
        """Record one attempt; returns its (output, thinking) tokens, estimated with
        planner's tokenizer where the server did not report them."""
        thinking_tokens = usage.thinking_tokens if thinking_reported else count_tokens(thinking)
        if usage_reported:
            output_tokens = max(usage.output_tokens, thinking_tokens)
        else:
            output_tokens = count_tokens(received) + thinking_tokens
        self.contributions.append(
            Contribution(
                start_char,
                start_char + chars,
                received,
                output_tokens - thinking_tokens,
                thinking_tokens,
                usage_reported,
            )
        )
        self.usage.input_tokens += usage.input_tokens
        self.usage.output_tokens += output_tokens
        self.usage.thinking_tokens += thinking_tokens
        self.usage.cache_creation_input_tokens += usage.cache_creation_input_tokens
        self.usage.cache_creation_1h_input_tokens += usage.cache_creation_1h_input_tokens
        self.usage.cache_read_input_tokens += usage.cache_read_input_tokens
        billed = Usage(
            input_tokens=usage.input_tokens,
            output_tokens=output_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens,
            cache_read_input_tokens=usage.cache_read_input_tokens,
            cache_creation_1h_input_tokens=usage.cache_creation_1h_input_tokens,
        )
        self.requests.append(_catalog_usage(billed))
        return output_tokens, thinking_tokens

    def waste(self, final_text: str) -> Waste:
        """Output tokens generated but not part of `final_text` (thinking included).

        Text tokens the server reported are shared out by characters (its tokenizer is not
        planner's); for an attempt without a final usage report the discarded text is
        counted with planner's tokenizer.
        """
        wasted = thinking_wasted = 0
        limit = len(final_text)
        for part in reversed(self.contributions):
            kept_chars = max(0, min(part.end_char, limit) - part.start_char)
            limit = min(limit, part.start_char)
            if kept_chars == 0:
                thinking_wasted += part.thinking_tokens
            discarded_chars = len(part.received) - kept_chars
            if discarded_chars <= 0:
                continue
            if part.usage_reported:
                wasted += round(part.text_tokens * discarded_chars / len(part.received))
            else:
                kept = final_text[part.start_char : part.start_char + kept_chars]
                wasted += max(0, count_tokens(part.received) - count_tokens(kept))
        return Waste(wasted + thinking_wasted, thinking_wasted)

    def wasted_tokens(self, final_text: str) -> int:
        return self.waste(final_text).output_tokens

    def _priced(self, requests: list[catalog.Usage]) -> Decimal | None:
        spec = catalog.lookup(self.model)
        return None if spec is None else catalog.requests_cost_usd(spec, requests)

    def estimated_cost_usd(self) -> float | None:
        """What the generation's requests cost on the catalogued model."""
        cost = self._priced(self.requests)
        return None if cost is None else round(float(cost), 6)

    def estimated_saving_usd(self) -> float | None:
        """What caching saved against the same requests sent uncached (negative: writes
        that were never read cost more than they saved)."""
        cost = self._priced(self.requests)
        uncached = self._priced([catalog.uncached(usage) for usage in self.requests])
        if cost is None or uncached is None:
            return None
        return round(float(uncached - cost), 6)
