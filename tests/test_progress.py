"""Real progress: tokens from chunks, a refined estimate, a percentage that never goes back."""

from __future__ import annotations

from planner.plan.progress import ProgressTracker
from planner.tokens import count_tokens, split_tokens
from tests.plan_samples import plan_text


def _feed(tracker: ProgressTracker, text: str, piece: int = 40) -> list[float]:
    percentages = []
    for start in range(0, len(text), piece):
        tracker.add(start, text[start : start + piece])
        percentages.append(tracker.snapshot().percentage)
    return percentages


def test_percentage_rises_steadily_and_only_complete_reaches_100() -> None:
    text = plan_text(phases=3, milestones_per_phase=2, tasks_per_milestone=4)
    tracker = ProgressTracker()
    tracker.start_stage("discovery")
    tracker.add(0, '{"domain": "gear"}')
    tracker.start_stage("masterplan", expected_tasks=24)
    percentages = _feed(tracker, text)
    assert percentages == sorted(percentages)
    assert percentages[-1] <= 99.0
    assert percentages[len(percentages) // 2] > 20
    final = tracker.complete()
    assert final.percentage == 100.0
    assert final.tokens_received == count_tokens('{"domain": "gear"}') + sum(
        count_tokens(text[i : i + 40]) for i in range(0, len(text), 40)
    )


def test_the_estimate_learns_the_real_size_of_a_task() -> None:
    text = plan_text(phases=2, milestones_per_phase=2, tasks_per_milestone=5)
    tracker = ProgressTracker()
    tracker.start_stage("masterplan", expected_tasks=20)
    _feed(tracker, text[: len(text) * 3 // 4])
    estimate = tracker.snapshot().estimated_total
    actual = sum(count_tokens(text[i : i + 40]) for i in range(0, len(text), 40))
    assert abs(estimate - actual) / actual < 0.15


def test_current_phase_is_read_from_the_partial_json() -> None:
    text = plan_text(phases=3)
    tracker = ProgressTracker()
    tracker.start_stage("masterplan", expected_tasks=12)
    assert tracker.snapshot().current_phase == "overview"
    cut = text.index('"phase_number": 2')
    tracker.add(0, text[: cut + 60])
    assert tracker.snapshot().current_phase == "Phase 2: Phase 2"


def test_a_rewind_never_moves_the_percentage_back_and_deltas_restart_at_the_offset() -> None:
    text = plan_text()
    tracker = ProgressTracker()
    tracker.start_stage("masterplan", expected_tasks=12)
    tracker.add(0, text[:2000])
    assert tracker.take_delta() == (text[:2000], 0)
    before = tracker.snapshot().percentage
    tracker.add(1500, text[1500:1600])
    after = tracker.snapshot()
    assert after.percentage == before
    assert after.chars == 1600
    assert tracker.take_delta() == (text[1500:1600], 1500)
    assert tracker.take_delta() is None


def test_tokens_are_counted_from_the_chunks_themselves() -> None:
    tracker = ProgressTracker()
    tracker.start_stage("discovery")
    pieces = split_tokens('{"domain": "used camping gear marketplace"}')
    offset = 0
    for piece in pieces:
        tracker.add(offset, piece)
        offset += len(piece)
    assert tracker.snapshot().tokens_received == len(pieces)


def test_a_thinking_model_shows_a_thinking_phase_before_its_first_text(db) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from planner.auth import get_or_create_local_user
    from planner.db import GenerationEvent
    from planner.plan import GenerationRequest, run_generation
    from planner.plan.settings import GenerationSettings, StageSettings

    user = get_or_create_local_user(db)
    settings = GenerationSettings(discovery=StageSettings("adaptive", "max"))
    outcome = run_generation(
        db, GenerationRequest("A lending library", user.id, speed=0, settings=settings)
    )
    assert outcome.completed, outcome.error
    phases = db.in_session(
        lambda s: [
            (e.payload["current_phase"], e.payload["chars"])
            for e in s.scalars(
                select(GenerationEvent)
                .where(
                    GenerationEvent.generation_id == outcome.generation_id,
                    GenerationEvent.name == "masterplan_tokens_progress",
                )
                .order_by(GenerationEvent.seq)
            )
        ]
    )
    thinking = [i for i, (phase, _) in enumerate(phases) if phase.startswith("discovery: thinking")]
    first_text = next(i for i, (phase, chars) in enumerate(phases) if chars > 0)
    assert thinking and thinking[0] < first_text, phases[:5]  # not 0 % looking dead
