"""The Models API on the simulator, read through the real SDK: ModelInfo from the catalogue."""

from __future__ import annotations

import anthropic
import pytest

from planner.catalog import MODELS, lookup
from planner.sim import Simulator
from tests.sim_helpers import client


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0) as running:
        yield running


def test_retrieve_gives_the_catalogue_facts_as_model_info(sim: Simulator) -> None:
    info = client(sim.base_url).models.retrieve("claude-sonnet-5-5")
    assert isinstance(info, anthropic.types.ModelInfo)
    assert (info.id, info.display_name, info.line) == (
        "claude-sonnet-5-5",
        "Claude Sonnet 5.5",
        "sonnet",
    )
    assert info.lifecycle == "active" and info.retires_at is None
    assert (info.max_tokens, info.max_input_tokens) == (128_000, 1_000_000)
    assert info.created_at.date().isoformat() == "2026-09-28"
    thinking = info.capabilities.thinking.types
    assert thinking.adaptive.supported and not thinking.enabled.supported
    # it is turned off with `between_tools`, and `disabled` is refused
    assert thinking.between_tools.supported and not thinking.disabled.supported


def test_an_alias_resolves_to_its_model(sim: Simulator) -> None:
    info = client(sim.base_url).models.retrieve("claude-haiku-4-5")
    assert info.id == "claude-haiku-4-5-20251001"
    assert info.display_name == "Claude Haiku 4.5"
    assert info.capabilities.thinking.types.enabled.supported
    assert not info.capabilities.effort.supported


def test_a_retired_model_is_still_described_as_retired(sim: Simulator) -> None:
    info = client(sim.base_url).models.retrieve("claude-sonnet-4-5")
    assert info.lifecycle == lookup("claude-sonnet-4-5").lifecycle() == "retired"


def test_a_deprecated_model_says_when_it_retires(sim: Simulator) -> None:
    spec = lookup("claude-opus-4-5")
    info = client(sim.base_url).models.retrieve("claude-opus-4-5")
    assert info.lifecycle == spec.lifecycle()
    if info.lifecycle == "deprecated":
        assert info.retires_at.date() == spec.end_of_life


def test_an_unknown_model_is_not_found(sim: Simulator) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client(sim.base_url).models.retrieve("claude-sonnet-9")
    assert caught.value.type == "not_found_error"


def test_the_list_pages_through_every_catalogued_model_newest_first(sim: Simulator) -> None:
    listed = list(client(sim.base_url).models.list(limit=5))
    assert sorted(info.id for info in listed) == sorted(spec.name for spec in MODELS)
    created = [info.created_at for info in listed]
    assert created == sorted(created, reverse=True)


def test_a_bad_limit_is_refused(sim: Simulator) -> None:
    with pytest.raises(anthropic.BadRequestError):
        client(sim.base_url).models.list(limit=0)
