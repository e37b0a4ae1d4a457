"""The model catalogue agrees with the installed SDK and answers what planner asks of it.

The SDK's own data is read at test time, so an SDK release that adds a model or moves an
end-of-life date fails here until the catalogue follows.
"""

from __future__ import annotations

import re
import typing
from datetime import date, datetime
from decimal import Decimal

import pytest
from anthropic.resources.messages import DEPRECATED_MODELS
from anthropic.types import Model, ModelLine

from planner.catalog import (
    MODELS,
    ModelSpec,
    RetiredModelError,
    Usage,
    check_model,
    cost_usd,
    default_model,
    lookup,
)
from planner.config import DEFAULT_MODEL
from planner.errors import ConfigError

TODAY = date(2026, 12, 1)


def sdk_model_names() -> tuple[str, ...]:
    literal, _open_str = typing.get_args(Model)
    return typing.get_args(literal)


def known(name: str) -> ModelSpec:
    spec = lookup(name)
    assert spec is not None, name
    return spec


def sdk_date(text: str) -> date:
    """The SDK writes end-of-life dates as 'January 22nd, 2027'."""
    return datetime.strptime(re.sub(r"(\d)(st|nd|rd|th)", r"\1", text), "%B %d, %Y").date()


def test_every_model_the_sdk_names_is_catalogued() -> None:
    names = sdk_model_names()
    assert len(names) >= 20
    missing = [name for name in names if lookup(name) is None]
    assert missing == []


def test_every_end_of_life_date_matches_the_sdk() -> None:
    for name, text in DEPRECATED_MODELS.items():
        spec = lookup(name)
        assert spec is not None, name
        assert spec.end_of_life == sdk_date(text), name


def test_models_the_sdk_does_not_deprecate_are_active_except_sonnet_4_5() -> None:
    # Sonnet 4.5 left the SDK's lists in 2.15; 2.14 gave its end of life as 2026-11-30.
    for spec in MODELS:
        if spec.end_of_life is None:
            assert not {spec.name, *spec.aliases} & DEPRECATED_MODELS.keys()
            assert spec.lifecycle(TODAY) == "active"
    sonnet_4_5 = known("claude-sonnet-4-5")
    assert sonnet_4_5.end_of_life == date(2026, 11, 30)


def test_each_line_is_one_the_sdk_knows() -> None:
    assert {spec.line for spec in MODELS} <= set(typing.get_args(ModelLine))


def test_dated_snapshots_and_their_aliases_are_one_entry() -> None:
    assert lookup("claude-haiku-4-5") is lookup("claude-haiku-4-5-20251001")
    assert lookup("claude-opus-4-5") is lookup("claude-opus-4-5-20251101")
    assert lookup("claude-sonnet-4-5") is lookup("claude-sonnet-4-5-20250929")


def test_lifecycle_follows_the_date_it_is_asked_on() -> None:
    opus_4_5 = known("claude-opus-4-5")
    assert opus_4_5.lifecycle(date(2027, 1, 21)) == "deprecated"
    assert opus_4_5.lifecycle(date(2027, 1, 22)) == "retired"
    mythos_preview = known("claude-mythos-preview")
    assert mythos_preview.lifecycle(TODAY) == "retired"


def test_the_default_is_the_newest_active_sonnet() -> None:
    default = default_model(TODAY)
    sonnets = [s for s in MODELS if s.line == "sonnet" and s.lifecycle(TODAY) == "active"]
    assert default.name == "claude-sonnet-5-5"
    assert all(s.released and default.released and s.released <= default.released for s in sonnets)
    assert default.name == DEFAULT_MODEL


@pytest.mark.parametrize(
    "name", ["claude-sonnet-6", "claude-opus-4-9", "claude-haiku-5-5-20261007", "gpt-6", ""]
)
def test_unknown_models_are_unknown_not_guessed(name: str) -> None:
    assert lookup(name) is None
    check = check_model(name, today=TODAY)
    assert not check.known and check.warning is None


def test_a_retired_model_is_refused_with_its_replacement_named() -> None:
    with pytest.raises(RetiredModelError) as refused:
        check_model("claude-sonnet-4-5", today=TODAY)
    assert isinstance(refused.value, ConfigError)
    message = str(refused.value)
    assert "claude-sonnet-4-5" in message and "2026-11-30" in message
    assert "claude-sonnet-5-5" in message and "\n" not in message


def test_a_retired_model_was_fine_before_its_end_of_life() -> None:
    check = check_model("claude-sonnet-4-5-20250929", today=date(2026, 11, 29))
    assert check.known and check.warning is not None


def test_a_deprecated_model_gets_one_warning_line_naming_date_and_replacement() -> None:
    check = check_model("claude-opus-4-5", today=TODAY)
    assert check.known and check.warning is not None
    assert "2027-01-22" in check.warning and "claude-opus-5-5" in check.warning
    assert "\n" not in check.warning


def test_an_active_model_passes_without_a_warning() -> None:
    check = check_model("claude-sonnet-5-5", today=TODAY)
    assert check.known and check.warning is None


def test_every_retired_or_deprecated_model_names_an_active_catalogued_replacement() -> None:
    for spec in MODELS:
        if spec.end_of_life is not None:
            replacement = lookup(spec.replacement or "")
            assert replacement is not None, spec.name
            assert replacement.lifecycle(TODAY) == "active", spec.name


def test_prefill_is_refused_by_every_5x_model_and_accepted_by_4_5() -> None:
    for spec in MODELS:
        if re.match(r"claude-\w+-5", spec.name):
            assert spec.accepts_prefill is False, spec.name
    for name in ("claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7", "claude-opus-4-8"):
        assert known(name).accepts_prefill is False, name
    for name in ("claude-haiku-4-5", "claude-opus-4-5", "claude-sonnet-4-5"):
        assert known(name).accepts_prefill is True, name


def test_cost_of_a_usage_adds_every_kind_of_token_at_its_price() -> None:
    sonnet = known("claude-sonnet-5-5")
    usage = Usage(
        input_tokens=10_000,
        output_tokens=20_000,
        cache_write_5m_tokens=30_000,
        cache_write_1h_tokens=40_000,
        cache_read_tokens=500_000,
    )
    # 0.01 M x $2 + 0.02 M x $10 + 0.03 M x $2.50 + 0.04 M x $4 + 0.5 M x $0.10
    assert cost_usd(sonnet, usage) == Decimal("0.505")


def test_haiku_5_5_bills_a_long_prompt_at_its_higher_band_for_every_token() -> None:
    haiku = known("claude-haiku-5-5")
    at_threshold = Usage(input_tokens=90_000, cache_read_tokens=10_000, output_tokens=1_000)
    over = Usage(input_tokens=90_000, cache_read_tokens=10_001, output_tokens=1_000)
    assert cost_usd(haiku, at_threshold) == Decimal("0.0096")
    assert cost_usd(haiku, over) == Decimal("0.04800005")


def test_a_model_without_prices_costs_none_rather_than_zero() -> None:
    preview = known("claude-mythos-preview")
    assert cost_usd(preview, Usage(input_tokens=1, output_tokens=1)) is None
