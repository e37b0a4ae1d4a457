"""The prompt cache ledger: creation and read tokens, and what caching saved."""

from __future__ import annotations

import uuid

from planner.auth import get_or_create_local_user
from planner.db import Database
from planner.llm.types import Usage
from planner.plan import GenerationRequest, outcome_of, prepare, run_generation
from planner.plan.cache import PromptCacheLedger


def test_the_saving_counts_reads_at_a_tenth_and_writes_at_a_quarter_more() -> None:
    ledger = PromptCacheLedger("claude-sonnet-4-5")
    ledger.record(Usage(input_tokens=100, cache_creation_input_tokens=1000))
    assert ledger.estimated_saving_usd == -0.00075  # 1000 x 0.25 x $3/MTok more
    for _ in range(3):
        ledger.record(Usage(input_tokens=100, cache_read_input_tokens=1000))
    assert ledger.saved_input_token_equivalents == 3 * 900 - 250
    assert ledger.to_json() == {
        "cache_creation_input_tokens": 1000,
        "cache_read_input_tokens": 3000,
        "estimated_saving_usd": round(2450 * 3 / 1e6, 6),
    }
    assert PromptCacheLedger("claude-opus-4-1").estimated_saving_usd == 0


def test_a_second_generation_reads_the_cached_system_prompts(db: Database) -> None:
    prepare(db)
    user_id: uuid.UUID = get_or_create_local_user(db).id
    request = GenerationRequest("A recipe sharing site with meal plans", user_id, speed=0)
    first = run_generation(db, request)
    second = run_generation(db, request)
    assert second.prompt_cache["cache_read_input_tokens"] > 0
    assert second.prompt_cache["estimated_saving_usd"] > 0
    stored = outcome_of(db, second.generation_id)
    assert stored.prompt_cache == second.prompt_cache
    assert (
        first.prompt_cache["cache_creation_input_tokens"]
        + first.prompt_cache["cache_read_input_tokens"]
        > 0
    )
