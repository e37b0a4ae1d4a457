"""What a watcher sees: the chunk timeline, checkpoints, progress, recovery notices,
attempt records, and the usage and waste in the result."""

from __future__ import annotations

import pytest

from planner.llm import AttemptRecord, Checkpoint, Chunk, Progress, RecoveryNotice
from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator
from planner.tokens import count_tokens
from tests.llm_helpers import FakeTime, generate, make_client, spec
from tests.sim_helpers import plan_request

TASKS = 8
DROP = {"type": "reset", "at_fraction": 0.5, "on_requests": [1]}


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


class Watcher:
    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self.checkpoints: list[Checkpoint] = []
        self.progress: list[Progress] = []
        self.recoveries: list[RecoveryNotice] = []
        self.attempts: list[AttemptRecord] = []

    def callbacks(self) -> dict:
        return {
            "on_chunk": self.chunks.append,
            "on_checkpoint": self.checkpoints.append,
            "on_progress": self.progress.append,
            "on_recovery": self.recoveries.append,
            "on_attempt": self.attempts.append,
        }


def watched(sim, strategy: str, faults: str, model: str = "claude-haiku-4-5", **options):
    watcher, fake = Watcher(), FakeTime()
    client = make_client(sim.base_url, strategy, fake, **options)
    result = generate(client, plan_request(TASKS, model), faults, **watcher.callbacks())
    return result, watcher, fake


def test_the_chunk_timeline_of_a_resumed_generation(sim) -> None:
    result, watcher, _ = watched(sim, "resume", spec(DROP))
    assert result.complete
    assert [c.seq for c in watcher.chunks] == list(range(len(watcher.chunks)))
    assert {c.attempt for c in watcher.chunks} == {1, 2}
    for chunk in watcher.chunks:
        assert result.text[chunk.char_offset : chunk.char_offset + chunk.chars] == chunk.text or (
            chunk.attempt == 1 and not chunk.text[len(result.text) - chunk.char_offset :].strip()
        )
    first = [c for c in watcher.chunks if c.attempt == 1]
    second = [c for c in watcher.chunks if c.attempt == 2]
    # the continuation delivers from where attempt 1's delivered text ends (the line held
    # back while the stream was cut is delivered by the continuation): no gap, no overlap;
    # the reply it read began at or before that (resume_from_char)
    assert second[0].char_offset == first[-1].char_offset + first[-1].chars
    assert result.attempts[1].resume_from_char <= second[0].char_offset
    assert second[-1].char_offset + second[-1].chars == len(result.text)
    assert all(a.t_ms <= b.t_ms for a, b in zip(watcher.chunks, watcher.chunks[1:], strict=False))


def test_checkpoints_every_n_chars_and_at_the_end_of_an_attempt(sim) -> None:
    result, watcher, _ = watched(sim, "resume", spec(DROP), checkpoint_every_chars=700)
    offsets = [c.offset for c in watcher.checkpoints]
    assert all(result.text.startswith(c.text.rstrip()) for c in watcher.checkpoints)
    assert offsets[-1] == len(result.text)
    first_attempt_end = result.attempts[0].chars
    assert first_attempt_end in offsets, "the text at the failure is checkpointed"
    periodic = [o for o in offsets if o not in (first_attempt_end, len(result.text))]
    assert len(periodic) >= len(result.text) // 700 - 2
    assert all(
        b - a >= 700 for a, b in zip(periodic, periodic[1:], strict=False) if b < first_attempt_end
    )


def test_progress_every_n_chunks_and_at_every_attempt_boundary(sim) -> None:
    result, watcher, _ = watched(sim, "resume", spec(DROP), progress_every_chunks=20)
    by_attempt = {n: [p for p in watcher.progress if p.attempt == n] for n in (1, 2)}
    assert by_attempt[1][0].chunks == 0, "reported when the attempt starts"
    chunks_in_1 = sum(1 for c in watcher.chunks if c.attempt == 1)
    assert len(by_attempt[1]) == 1 + chunks_in_1 // 20 + 1
    last = watcher.progress[-1]
    assert last.chars == len(result.text) and last.chunks == len(watcher.chunks)
    assert last.output_tokens == pytest.approx(count_tokens(result.text), abs=5)
    assert all(a.chars <= b.chars for a, b in zip(by_attempt[2], by_attempt[2][1:], strict=False))


def test_recovery_notice_names_the_failure_and_the_decision(sim) -> None:
    result, watcher, fake = watched(sim, "resume", spec(DROP))
    [notice] = watcher.recoveries
    assert (notice.attempt, notice.failure, notice.decision, notice.tier) == (
        1,
        "connection_dropped",
        "resume",
        "resume",
    )
    # The notice says where the new text goes on (nothing delivered is taken back); the
    # attempt, where its reply began: after the prefill, which leaves out blanks.
    reply_from = result.attempts[1].resume_from_char
    assert notice.resume_from_char >= reply_from
    assert not result.text[reply_from : notice.resume_from_char].strip()
    assert notice.wait_s == 0 and fake.sleeps == [], "a drop after progress reconnects at once"
    assert "dropped" in notice.message


@pytest.mark.parametrize(
    ("strategy", "faults", "decisions"),
    [
        ("none", spec(DROP), ["give_up"]),
        ("hybrid", spec(DROP), ["partial"]),
        # The non-streaming retry of a 32,000-token request is refused by the SDK's guard.
        (
            "hybrid",
            spec({"type": "http_error", "status": 529, "on_requests": [1]}),
            ["nonstream", "give_up"],
        ),
        ("restart", spec(DROP), ["retry"]),
    ],
)
def test_each_strategy_announces_its_decision(sim, strategy, faults, decisions) -> None:
    _, watcher, _ = watched(sim, strategy, faults)
    assert [n.decision for n in watcher.recoveries] == decisions


def test_a_model_the_catalogue_says_refuses_prefill_continues_without_spending_one(sim) -> None:
    result, watcher, fake = watched(sim, "resume", spec(DROP), model="claude-sonnet-4-6")
    assert [(n.failure, n.decision) for n in watcher.recoveries] == [
        ("connection_dropped", "continue"),
    ]
    assert [a.kind for a in result.attempts] == ["stream", "continue"]
    assert fake.sleeps == []


def test_attempt_records_and_summed_usage(sim) -> None:
    # a Sonnet 4.6 caches from 1,024 tokens (Haiku 4.5 only from 4,096)
    result, watcher, _ = watched(sim, "restart", spec(DROP), model="claude-sonnet-4-6")
    assert watcher.attempts == result.attempts
    first, second = result.attempts
    assert first.request_id != second.request_id and second.request_id.startswith("req_")
    assert first.end_ms is not None and first.start_ms <= first.end_ms <= second.start_ms
    assert result.usage.input_tokens == first.input_tokens + second.input_tokens > 0
    assert result.usage.output_tokens == first.output_tokens + second.output_tokens
    assert second.output_tokens == count_tokens(result.text), "reported by the server"
    assert first.output_tokens == count_tokens(result.text[: first.chars]), "estimated"
    assert result.wasted_output_tokens == first.output_tokens
    cached = result.usage.cache_creation_input_tokens + result.usage.cache_read_input_tokens
    assert cached > 0, "the system prompt is marked for caching"


def test_waste_of_a_resumed_generation_is_only_the_seam(sim) -> None:
    result, _, _ = watched(sim, "resume", spec(DROP), model="claude-sonnet-4-6")
    overlap_tokens = result.wasted_output_tokens
    # Received twice: from where the continuation's reply began (its repeat of the kept
    # text) to where the first attempt's text ended (the held-back last line included).
    first, second = result.attempts
    twice = result.text[second.resume_from_char : first.chars]
    assert 0 < overlap_tokens == pytest.approx(count_tokens(twice), abs=3)
    assert len(twice) <= 60 + 400, "the overlap and the held-back line, nothing else"
    total = result.usage.output_tokens
    assert total - overlap_tokens == pytest.approx(count_tokens(result.text), abs=3)
