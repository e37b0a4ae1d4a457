"""The client knows nothing of the simulator, the settings, the database or any front end:
importing it, and running a generation with it, loads none of them (DESIGN.md, layering)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

FORBIDDEN = (
    "planner.config",
    "planner.sim",
    "planner.db",
    "planner.plan",
    "planner.realtime",
    "planner.dashboard",
    "planner.cli",
    "planner.store",
)


def planner_modules_loaded_by(code: str) -> list[str]:
    """The planner modules a fresh interpreter has loaded after running `code`."""
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import sys
        print("\\n".join(sorted(name for name in sys.modules if name.startswith("planner"))))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return run.stdout.split()


def forbidden_among(modules: list[str]) -> list[str]:
    return [
        name
        for name in modules
        if any(name == layer or name.startswith(layer + ".") for layer in FORBIDDEN)
    ]


def test_importing_the_client_loads_no_simulator_settings_database_or_front_end() -> None:
    modules = planner_modules_loaded_by("import planner.llm")
    assert "planner.llm.client" in modules, "the check looked at a real import"
    assert forbidden_among(modules) == []


def test_a_generation_through_a_mock_transport_loads_none_of_them_either() -> None:
    # Nothing is loaded lazily on the way: a whole generation, served from memory.
    modules = planner_modules_loaded_by(
        """
        import httpx2
        from planner.llm import ResilientClient

        BODY = (
            'event: message_start\\ndata: {"type": "message_start", "message": {"id": "m",'
            ' "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",'
            ' "content": [], "stop_reason": null, "stop_sequence": null,'
            ' "usage": {"input_tokens": 3, "output_tokens": 1}}}\\n\\n'
            'event: content_block_delta\\ndata: {"type": "content_block_delta", "index": 0,'
            ' "delta": {"type": "text_delta", "text": "done"}}\\n\\n'
            'event: message_delta\\ndata: {"type": "message_delta", "delta":'
            ' {"stop_reason": "end_turn", "stop_sequence": null},'
            ' "usage": {"output_tokens": 2}}\\n\\n'
            'event: message_stop\\ndata: {"type": "message_stop"}\\n\\n'
        )
        transport = httpx2.MockTransport(
            lambda request: httpx2.Response(
                200, headers={"content-type": "text/event-stream"}, content=BODY.encode()
            )
        )
        client = ResilientClient(
            api_key="x", base_url="http://api.test", http_client=httpx2.Client(transport=transport)
        )
        request = {"model": "claude-sonnet-4-5", "max_tokens": 10,
                   "messages": [{"role": "user", "content": "hi"}]}
        assert client.generate(request).text == "done"
        """
    )
    assert "planner.llm.attempt" in modules
    assert forbidden_among(modules) == []
