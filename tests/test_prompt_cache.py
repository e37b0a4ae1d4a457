"""The cost ledger: creation and read tokens, what the generation cost and what caching saved,
priced from the model catalogue."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from planner.auth import get_or_create_local_user
from planner.catalog import MODELS, cost_usd
from planner.catalog import Usage as PricedUsage
from planner.db import Database
from planner.llm.types import Usage
from planner.plan import GenerationRequest, outcome_of, prepare, run_generation
from planner.plan.cache import PromptCacheLedger


def test_sonnet_5_5_cost_and_saving_use_its_catalogue_prices() -> None:
    # claude-sonnet-5-5: $2 input, $10 output, $2.50 5-min write, $0.10 read per MTok
    ledger = PromptCacheLedger("claude-sonnet-5-5")
    ledger.record(Usage(input_tokens=100, output_tokens=50, cache_creation_input_tokens=1000))
    assert ledger.estimated_saving_usd == -0.0005  # the write costs 1000 x $0.50/MTok more
    for _ in range(3):
        ledger.record(Usage(input_tokens=100, cache_read_input_tokens=1000))
    assert ledger.to_json() == {
        "cache_creation_input_tokens": 1000,
        "cache_read_input_tokens": 3000,
        "estimated_saving_usd": round((3 * 1000 * 1.90 - 1000 * 0.50) / 1e6, 6),
        "estimated_cost_usd": round((400 * 2 + 50 * 10 + 1000 * 2.50 + 3000 * 0.10) / 1e6, 6),
    }


def test_an_unknown_model_has_no_price_rather_than_a_guessed_one() -> None:
    ledger = PromptCacheLedger("claude-opus-4-1")  # not in the catalogue
    ledger.record(Usage(input_tokens=100, output_tokens=10, cache_read_input_tokens=1000))
    assert (ledger.estimated_cost_usd, ledger.estimated_saving_usd) == (None, None)


@pytest.mark.parametrize("spec", [m for m in MODELS if m.prices is not None], ids=lambda m: m.name)
def test_every_priced_model_is_priced_from_its_own_catalogue_row(spec) -> None:  # noqa: ANN001
    ledger = PromptCacheLedger(spec.name)
    ledger.record(
        Usage(
            input_tokens=1_000,
            output_tokens=2_000,
            cache_creation_input_tokens=3_000,
            cache_read_input_tokens=4_000,
        )
    )
    p = spec.prices
    expected = 1_000 * p.input + 2_000 * p.output + 3_000 * p.cache_write_5m + 4_000 * p.cache_read
    assert Decimal(str(ledger.estimated_cost_usd)) == (expected / 1_000_000).quantize(
        Decimal("0.000001")
    )
    saving = (3_000 * (p.input - p.cache_write_5m) + 4_000 * (p.input - p.cache_read)) / 1_000_000
    assert Decimal(str(ledger.estimated_saving_usd)) == saving.quantize(Decimal("0.000001"))


def test_a_long_prompt_band_is_chosen_per_request_not_by_the_generation_total() -> None:
    banded = next(m for m in MODELS if m.long_prompt is not None)
    ledger = PromptCacheLedger(banded.name)
    for _ in range(3):  # three requests of 60k: over the band's threshold together, not alone
        ledger.record(Usage(input_tokens=60_000, output_tokens=1_000))
    base = cost_usd(banded, PricedUsage(input_tokens=60_000, output_tokens=1_000))
    assert Decimal(str(ledger.estimated_cost_usd)) == (3 * base).quantize(Decimal("0.000001"))


def test_a_second_generation_reads_the_cached_system_prompts(db: Database) -> None:
    prepare(db)
    user_id: uuid.UUID = get_or_create_local_user(db).id
    request = GenerationRequest("A recipe sharing site with meal plans", user_id, speed=0)
    first = run_generation(db, request)
    second = run_generation(db, request)
    assert second.prompt_cache["cache_read_input_tokens"] > 0
    assert second.prompt_cache["estimated_saving_usd"] > 0
    assert second.prompt_cache["estimated_cost_usd"] > 0
    stored = outcome_of(db, second.generation_id)
    assert stored.prompt_cache == second.prompt_cache
    assert (
        first.prompt_cache["cache_creation_input_tokens"]
        + first.prompt_cache["cache_read_input_tokens"]
        > 0
    )
