"""How a model writes a continuation turn on a no-prefill model, per request: each style,
over random cut points, with the answer-position headers staying truthful."""

from __future__ import annotations

import random

import pytest

from planner.plan.model import PLANNING_MODEL
from planner.protocol import ANSWER_FROM_HEADER, ANSWER_PREAMBLE_HEADER, ANSWER_TRAILER_HEADER
from planner.sim import Simulator
from planner.sim.conversation import PREAMBLE, STYLES
from tests.sim_helpers import client, fault_headers, plan_request

REPEATED = {  # style -> (fewest, most) characters of the text so far it repeats
    "overlap": (10, 60),
    "none": (0, 0),
    "short": (1, 3),
    "preamble": (0, 0),
    "fence": (0, 0),
    "reword": (0, 0),
}


def small_plan() -> dict:
    return {**plan_request(6), "max_tokens": 8000}  # the SDK's non-streaming guard


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


@pytest.fixture(scope="module")
def full(sim: Simulator) -> str:
    return client(sim.base_url).messages.create(**small_plan()).content[0].text


def continue_after(sim: Simulator, partial: str, style: str, *, quoted: bool = False):  # noqa: ANN201
    request = small_plan()
    if quoted:  # no partial assistant turn: the follow-up quotes the end of the text so far
        follow_up = f"You stopped here:\n{partial[-400:]}\nContinue from exactly there."
        request["messages"] = [*request["messages"], {"role": "user", "content": follow_up}]
    else:
        request["messages"] = [
            *request["messages"],
            {"role": "assistant", "content": partial},
            {"role": "user", "content": "Continue exactly where you stopped."},
        ]
    headers = fault_headers({"type": "continuation", "style": style})
    raw = client(sim.base_url).messages.with_raw_response.create(**request, extra_headers=headers)
    return raw.parse().content[0].text, raw.headers


@pytest.mark.parametrize("style", STYLES)
def test_each_style_continues_the_answer_the_way_it_says(
    sim: Simulator, full: str, style: str
) -> None:
    fewest, most = REPEATED[style]
    rng = random.Random(style)
    for cut in sorted(rng.sample(range(200, len(full) - 200), 6)):
        text, headers = continue_after(sim, full[:cut], style)
        start = int(headers[ANSWER_FROM_HEADER])
        preamble = int(headers[ANSWER_PREAMBLE_HEADER])
        trailer = int(headers[ANSWER_TRAILER_HEADER])
        answer_part = text[preamble : len(text) - trailer]
        assert answer_part == full[start:], "the headers say truthfully where the text is from"
        assert fewest <= cut - start <= most
        if style == "preamble":
            assert text.startswith(PREAMBLE)
        if style == "fence":
            assert text.startswith("```json\n") and text.endswith("\n```")
        if style == "reword" and preamble:
            line_start = full.rfind("\n", 0, cut) + 1
            assert text[:preamble] != full[line_start:cut], "the restarted line is reworded"
            assert text[:preamble].strip().replace(" ", "") == full[line_start:cut].strip().replace(
                " ", ""
            )


def test_without_a_style_the_overlap_is_10_to_60_characters(sim: Simulator, full: str) -> None:
    request = small_plan()
    request["messages"] += [
        {"role": "assistant", "content": full[:1000]},
        {"role": "user", "content": "Continue."},
    ]
    raw = client(sim.base_url).messages.with_raw_response.create(**request)
    assert 10 <= 1000 - int(raw.headers[ANSWER_FROM_HEADER]) <= 60


def test_a_follow_up_that_quotes_the_text_so_far_is_continued_from_there(
    sim: Simulator, full: str
) -> None:
    cut = len(full) // 2
    text, headers = continue_after(sim, full[:cut], "none", quoted=True)
    assert int(headers[ANSWER_FROM_HEADER]) == cut and text == full[cut:]


def test_styles_are_a_per_request_choice_drawn_by_toxicity(sim: Simulator, full: str) -> None:
    seen = set()
    for run in range(12):
        request = small_plan()
        request["messages"] += [
            {"role": "assistant", "content": full[:800]},
            {"role": "user", "content": "Continue."},
        ]
        headers = fault_headers(
            {"type": "continuation", "style": "preamble", "toxicity": 0.5}, run=f"r{run}:s{run}"
        )
        raw = client(sim.base_url).messages.with_raw_response.create(
            **request, extra_headers=headers
        )
        seen.add(raw.headers[ANSWER_PREAMBLE_HEADER] != "0")
    assert seen == {True, False}
