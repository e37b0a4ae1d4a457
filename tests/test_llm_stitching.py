"""Continuation requests and the seam: exact prefill stitching, overlap removal."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.llm.stitching import (
    CONTINUE_PROMPT,
    SeamJoiner,
    continuation_request,
    longest_overlap,
    prefill_request,
)

REQUEST = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1000,
    "system": "be brief",
    "messages": [{"role": "user", "content": "plan it"}],
}


def brute_overlap(kept: str, continuation: str) -> int:
    for k in range(min(len(kept), len(continuation)), 0, -1):
        if kept.endswith(continuation[:k]):
            return k
    return 0


def join_streamed(kept: str, deltas: list[str], **options: int) -> str:
    joiner = SeamJoiner(kept, **options)
    out: list[str] = []
    for delta in deltas:
        out.extend(joiner.feed(delta) or [])
    out.extend(joiner.finish())
    return "".join(out)


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False)]


CACHED = {"type": "ephemeral"}


def test_prefill_request_strips_trailing_whitespace_and_keeps_the_request() -> None:
    request = prefill_request(REQUEST, '{"phases": [\n  ')
    assert request["messages"][-1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": '{"phases": [', "cache_control": CACHED}],
    }
    assert request["messages"][:-1] == REQUEST["messages"]
    assert request["system"] == "be brief" and request["max_tokens"] == 1000
    assert REQUEST["messages"] == [{"role": "user", "content": "plan it"}], "input not mutated"


def test_prefill_extends_a_prefill_the_caller_already_had() -> None:
    request = {**REQUEST, "messages": [*REQUEST["messages"], {"role": "assistant", "content": "{"}]}
    resumed = prefill_request(request, '"name": "x"')
    assert resumed["messages"] == [
        REQUEST["messages"][0],
        {
            "role": "assistant",
            "content": [{"type": "text", "text": '{"name": "x"', "cache_control": CACHED}],
        },
    ]


def test_continuation_request_asks_a_user_turn_after_the_partial_answer_as_it_was() -> None:
    request = continuation_request(REQUEST, "partial answer \n")
    assert request["messages"][-2:] == [
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "partial answer \n", "cache_control": CACHED}],
        },
        {"role": "user", "content": CONTINUE_PROMPT},
    ]


def test_a_second_resume_resends_the_cached_blocks_unchanged_and_adds_one() -> None:
    cached = ("one ", "two ")
    request = continuation_request(REQUEST, "one two three", cached=cached, cache_ttl="1h")
    hour = {"type": "ephemeral", "ttl": "1h"}
    assert request["messages"][-2]["content"] == [
        {"type": "text", "text": "one "},
        {"type": "text", "text": "two ", "cache_control": hour},
        {"type": "text", "text": "three", "cache_control": hour},
    ]


def test_no_breakpoint_is_added_to_a_request_that_has_the_four_allowed() -> None:
    block = {"type": "text", "text": "s", "cache_control": CACHED}
    request = {**REQUEST, "system": [block, block, block, block]}
    assert prefill_request(request, "abc")["messages"][-1]["content"] == [
        {"type": "text", "text": "abc"}
    ]


def test_a_continuation_under_a_schema_drops_the_format_and_asks_for_the_rest_in_words() -> None:
    schema = {"type": "json_schema", "schema": {"type": "object"}}
    request = {**REQUEST, "output_config": {"format": schema, "effort": "low"}}
    continued = continuation_request(request, '{"a": ')
    assert continued["output_config"] == {"effort": "low"}
    assert "JSON document matching the schema" in continued["messages"][-1]["content"]
    assert request["output_config"]["format"] == schema, "input not mutated"


@given(st.text('ab{}" \n', max_size=30), st.text('ab{}" \n', max_size=30))
def test_longest_overlap_matches_brute_force(kept: str, continuation: str) -> None:
    assert longest_overlap(kept, continuation) == brute_overlap(kept, continuation)


def test_seam_drops_a_repeated_last_line() -> None:
    kept = '{\n  "phases": [\n    {"name": "Discovery", "milestones": ['
    continuation = '    {"name": "Discovery", "milestones": [{"name": "Kickoff"}]}]}'
    deltas = [continuation[i : i + 3] for i in range(0, len(continuation), 3)]
    assert join_streamed(kept, deltas) == '{"name": "Kickoff"}]}]}'


def test_seam_keeps_a_continuation_that_repeats_nothing() -> None:
    kept = '{"phases": [{"name": "Discovery"'
    assert join_streamed(kept, [', "milestones"', ": []}]}"]) == ', "milestones": []}]}'


def test_seam_drops_a_restart_from_the_very_beginning() -> None:
    assert join_streamed("{", ['{\n  "a"', ": 1}"]) == '\n  "a": 1}'


def test_seam_ignores_a_coincidental_short_match() -> None:
    # `}` after `}` is JSON, not a repeat: shorter than min_overlap_chars, kept.
    assert join_streamed('{"a": {"b": 1}', ["}"]) == "}"


def test_seam_holds_back_only_while_the_start_could_be_a_repeat() -> None:
    joiner = SeamJoiner("alpha beta gamma")
    assert joiner.feed("beta") is None  # occurs in the kept text: may be a repeat
    released = joiner.feed(" gamma delta")
    assert "".join(released or []) == " delta"
    assert joiner.overlap_chars == len("beta gamma")
    assert joiner.feed(" epsilon") == [" epsilon"]


@settings(max_examples=300)
@given(
    st.text('abc{}[]":, \n', min_size=1, max_size=80),
    st.text('abc{}[]":, \n', min_size=0, max_size=80),
    st.lists(st.integers(0, 200), max_size=12),
)
def test_streamed_decision_equals_the_offline_one(
    kept: str, continuation: str, cuts: list[int]
) -> None:
    """However the continuation is cut into deltas, the joiner cuts what an offline
    longest-overlap on the whole continuation would (above the coincidence threshold)."""
    overlap = brute_overlap(kept, continuation)
    recognised = overlap >= 4 or (overlap and overlap == len(kept))
    expected = continuation[overlap:] if recognised else continuation
    assert join_streamed(kept, split(continuation, cuts)) == expected


@settings(max_examples=200)
@given(
    st.lists(
        st.sampled_from(["task", "phase", '"name"', ": ", "{", "}", ",\n", "  ", "api", "42"]),
        min_size=5,
        max_size=60,
    ),
    st.data(),
)
def test_a_repeat_from_any_point_is_removed(words: list[str], data: st.DataObject) -> None:
    """The model repeats the kept text from some point on, then goes on: the joined text
    is exactly kept + the new part, whenever the repeat is long enough to be recognised
    and the text has no longer accidental self-overlap."""
    answer = "".join(words)
    cut = data.draw(st.integers(1, len(answer)))
    repeat_from = data.draw(st.integers(0, cut))
    kept, continuation = answer[:cut], answer[repeat_from:]
    true_overlap = cut - repeat_from
    cuts = data.draw(st.lists(st.integers(0, 400), max_size=10))
    joined = kept + join_streamed(kept, split(continuation, cuts))

    def recognised(overlap: int) -> bool:
        return overlap >= 4 or 0 < overlap == len(kept)

    found = brute_overlap(kept, continuation)
    if found == true_overlap and recognised(true_overlap):
        assert joined == answer
    if true_overlap == 0 and not recognised(found):
        assert joined == answer
