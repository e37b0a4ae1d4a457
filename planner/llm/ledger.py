"""Token accounting across attempts: usage summed, and the output tokens wasted.

Each attempt leaves a `Contribution`: the span of the answer it wrote and everything it
received. A later attempt that writes from char N cuts every earlier attempt's text after
N (restart: N = 0; resume: N = the kept text), so at the end each attempt still owns a
known span of the final text; whatever else it received was generated for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.llm.types import Usage
from planner.tokens import count_tokens


@dataclass(frozen=True)
class Contribution:
    start_char: int
    end_char: int
    received: str
    output_tokens: int
    usage_reported: bool


@dataclass
class Ledger:
    usage: Usage = field(default_factory=Usage)
    contributions: list[Contribution] = field(default_factory=list)

    def add(
        self, start_char: int, chars: int, received: str, usage: Usage, usage_reported: bool
    ) -> int:
        """Record one attempt; returns its output tokens (estimated when not reported)."""
        tokens = usage.output_tokens if usage_reported else count_tokens(received)
        self.contributions.append(
            Contribution(start_char, start_char + chars, received, tokens, usage_reported)
        )
        self.usage.input_tokens += usage.input_tokens
        self.usage.output_tokens += tokens
        self.usage.cache_creation_input_tokens += usage.cache_creation_input_tokens
        self.usage.cache_read_input_tokens += usage.cache_read_input_tokens
        return tokens

    def wasted_tokens(self, final_text: str) -> int:
        """Output tokens generated but not part of `final_text`.

        Tokens the server reported are shared out by characters (its tokenizer is not
        planner's); for an attempt without a final usage report the discarded text is
        counted with planner's tokenizer.
        """
        wasted = 0
        limit = len(final_text)
        for part in reversed(self.contributions):
            kept_chars = max(0, min(part.end_char, limit) - part.start_char)
            limit = min(limit, part.start_char)
            discarded_chars = len(part.received) - kept_chars
            if discarded_chars <= 0:
                continue
            if part.usage_reported:
                wasted += round(part.output_tokens * discarded_chars / len(part.received))
            else:
                kept = final_text[part.start_char : part.start_char + kept_chars]
                wasted += max(0, count_tokens(part.received) - count_tokens(kept))
        return wasted
