"""The simulator serves whatever model it is handed and handles the turns around it
generically: prefill, continuation, anything else = the full answer, by where the
quoted text sits in the answer, never by what the turns say."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import httpx2
import pytest
from conftest import REPO_ROOT, cli_env

from planner.plan.endpoint import embedded_simulator
from planner.plan.schema import Discovery
from planner.protocol import SPEED_HEADER
from planner.sim import FullAnswer, Opening, PlainProse, Simulator
from planner.sim.conversation import MAX_OVERLAP_CHARS, MIN_OVERLAP_CHARS, Responder
from tests.sim_helpers import MODEL, client, discovery, plain_request, stream_text

ANSWER = " ".join(f"Sentence number {n} of the toy model's one long answer." for n in range(80))


class ToyModel:
    """One fixed answer to every opening, counting how often it is asked."""

    def __init__(self) -> None:
        self.openings: list[Opening] = []

    def full_answer(self, opening: Opening) -> FullAnswer:
        self.openings.append(opening)
        return FullAnswer(ANSWER, "toy")


def conversation(*turns: tuple[str, str]) -> dict:
    return {
        "model": MODEL,
        "max_tokens": 4000,
        "system": "Any system text.",
        "messages": [{"role": role, "content": text} for role, text in turns],
    }


def test_the_simulator_serves_the_model_it_is_handed() -> None:
    toy = ToyModel()
    with Simulator(speed=0, model=toy) as sim:
        text, message = stream_text(client(sim.base_url), conversation(("user", "hello")))
        again = client(sim.base_url).messages.create(**conversation(("user", "hello")))
        stats = sim.stats()
    assert text == again.content[0].text == ANSWER and message.stop_reason == "end_turn"
    assert stats["answers"] == {"toy": 2}
    assert toy.openings == [Opening(MODEL, 0, "Any system text.", "hello")], "asked once"


def test_without_a_model_it_writes_plain_prose_even_to_planner_s_prompts() -> None:
    with Simulator(speed=0) as sim:
        text, _ = stream_text(client(sim.base_url), discovery())
        stats = sim.stats()
    assert stats["answers"] == {"plain": 1}
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_a_prefill_continues_right_after_its_text() -> None:
    responder = Responder(ToyModel())
    prefix = ANSWER[:1234].rstrip()
    answer = responder.answer(conversation(("user", "go"), ("assistant", prefix)), 0)
    assert prefix + answer.text == ANSWER
    assert answer.continued_from_char == len(prefix)


def test_a_prefill_the_answer_does_not_contain_gets_the_full_answer() -> None:
    responder = Responder(ToyModel())
    answer = responder.answer(conversation(("user", "go"), ("assistant", "Something else")), 0)
    assert answer.text == ANSWER and answer.continued_from_char == 0


@pytest.mark.parametrize("follow_up", ["Continue.", "zzz", "The JSON you returned is invalid."])
def test_any_user_turn_after_a_partial_it_can_find_is_a_continuation(follow_up: str) -> None:
    responder = Responder(ToyModel())
    partial = ANSWER[:2000]
    answer = responder.answer(
        conversation(("user", "go"), ("assistant", partial), ("user", follow_up)), 0
    )
    overlap = len(partial) - answer.continued_from_char
    assert MIN_OVERLAP_CHARS <= overlap <= MAX_OVERLAP_CHARS
    assert partial + answer.text[overlap:] == ANSWER


def test_a_partial_it_cannot_find_gets_the_full_answer() -> None:
    responder = Responder(ToyModel())
    damaged = "Here is what you asked for: " + ANSWER[:900] + " ... and more"
    answer = responder.answer(
        conversation(("user", "go"), ("assistant", damaged), ("user", "Again, please.")), 0
    )
    assert answer.text == ANSWER and answer.continued_from_char == 0


def test_the_opening_and_seed_decide_the_plain_answer() -> None:
    prose = PlainProse()
    opening = Opening(MODEL, 3, "", "Tell me about tents")
    assert prose.full_answer(opening) == prose.full_answer(opening)
    assert prose.full_answer(opening) != prose.full_answer(
        Opening(MODEL, 4, "", opening.first_user)
    )
    assert "tents" in prose.full_answer(opening).text


def test_importing_the_simulator_loads_nothing_of_planner_s_plans_client_or_database() -> None:
    probe = (
        "import sys, planner.sim\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('planner.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=cli_env(),
        cwd=REPO_ROOT,
    ).stdout.split()
    assert "planner.sim.server" in loaded
    forbidden = ("planner.plan", "planner.llm", "planner.db", "planner.store", "planner.config")
    assert [m for m in loaded if m.startswith(forbidden)] == []


def test_no_simulator_module_names_planner_s_plans_client_or_database_anywhere() -> None:
    allowed = (
        "planner.sim",
        "planner.protocol",
        "planner.errors",
        "planner.tokens",
        "planner.catalog",  # the base layer's model catalogue, read by both sides
    )
    for path in sorted((REPO_ROOT / "planner" / "sim").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("planner"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"


def test_the_embedded_simulator_is_one_instance_serving_planner_s_planning_model() -> None:
    embedded = embedded_simulator()
    assert embedded is embedded_simulator()
    assert httpx2.get(f"{embedded.base_url}/admin/health").json() == {"status": "ok"}
    unlimited = {SPEED_HEADER: "0"}  # the embedded simulator runs at real pace
    text, _ = stream_text(client(embedded.base_url), discovery(), extra_headers=unlimited)
    Discovery.model_validate_json(text)
    prose, _ = stream_text(client(embedded.base_url), plain_request(), extra_headers=unlimited)
    with pytest.raises(json.JSONDecodeError):
        json.loads(prose)
