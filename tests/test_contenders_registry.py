"""The contender registry: every contender listed by name with one line, listing imports no
library, a missing library is one line naming the extra, and nothing reaches the network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from planner.contenders import (
    CONTENDERS,
    INSTALL_HINT,
    ContenderUnavailable,
    UnknownContender,
    describe,
    get_contender,
    installed,
)
from planner.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("litellm", "langchain_anthropic", "langchain_core", "tenacity")
# Refuses every connection and name lookup beyond loopback, and records the attempt.
NETWORK_GUARD = textwrap.dedent(
    """
    import socket
    ATTEMPTS = []
    LOOPBACK = {"127.0.0.1", "::1", "localhost", None}
    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
    _getaddrinfo = socket.getaddrinfo

    def _outside(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            ATTEMPTS.append(["connect", str(host)])
            return True
        return False

    def connect(self, address):
        if _outside(self, address):
            raise OSError("the network is off in this test")
        return _connect(self, address)

    def connect_ex(self, address):
        return 101 if _outside(self, address) else _connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK:
            ATTEMPTS.append(["resolve", str(host)])
            raise socket.gaierror("the network is off in this test")
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.getaddrinfo = getaddrinfo
    """
)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter, without any LiteLLM setting this process may hold."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=240
    )


def test_every_contender_is_listed_by_name_with_one_line_in_words() -> None:
    assert CONTENDERS == (
        "sdk",
        "sdk-tenacity",
        "langchain",
        "litellm",
        "litellm-router",
        "oracle",
    )
    for name, line in describe().items():
        assert name in CONTENDERS and line and "\n" not in line and len(line) < 100


def test_listing_the_contenders_imports_none_of_their_libraries() -> None:
    done = _python(
        "import sys, planner.contenders as c; c.describe(); "
        f"print([m for m in {OPTIONAL!r} if m in sys.modules])"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_unknown_contender_names_the_known_ones() -> None:
    with pytest.raises(UnknownContender, match="choose one of sdk, sdk-tenacity") as caught:
        get_contender("langchian")
    assert isinstance(caught.value, InputError)


def test_with_the_extra_installed_every_contender_can_be_built() -> None:
    assert all(installed(name) for name in CONTENDERS)
    for name in CONTENDERS:
        assert get_contender(name).name == name


def test_without_the_extra_planner_works_and_a_missing_contender_is_one_line() -> None:
    block = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in OPTIONAL)
    done = _python(
        block
        + textwrap.dedent(
            """
            import planner.contenders as c
            from planner.contenders import ContenderUnavailable
            print(json.dumps([n for n in c.CONTENDERS if c.installed(n)]))
            assert c.get_contender("sdk").name == "sdk"
            assert c.get_contender("oracle").name == "oracle"
            for name in ("sdk-tenacity", "langchain", "litellm", "litellm-router"):
                try:
                    c.get_contender(name)
                except ContenderUnavailable as exc:
                    print(exc)
            """
        ).replace("import planner.contenders", "import json\nimport planner.contenders", 1)
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert json.loads(lines[0]) == ["sdk", "oracle"]
    assert lines[1:] == [
        f"contender 'sdk-tenacity' needs tenacity, which is not installed: {INSTALL_HINT}",
        f"contender 'langchain' needs langchain-anthropic, which is not installed: {INSTALL_HINT}",
        f"contender 'litellm' needs litellm, which is not installed: {INSTALL_HINT}",
        f"contender 'litellm-router' needs litellm, which is not installed: {INSTALL_HINT}",
    ]
    assert issubclass(ContenderUnavailable, ConfigError)
    assert INSTALL_HINT == "pip install 'planner[contenders]'"


def test_the_network_guard_sees_litellm_reach_out_when_not_told_to_stay_offline() -> None:
    """The control for the test below: without its offline settings LiteLLM fetches its
    model cost map at import, and the guard records it."""
    done = _python(NETWORK_GUARD + "import json, litellm\nprint(json.dumps(ATTEMPTS))")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]), "the guard saw no attempt"


def test_no_contender_reaches_beyond_loopback() -> None:
    done = _python(
        NETWORK_GUARD
        + textwrap.dedent(
            """
            import json, logging
            from contender_helpers import DROP_AT_90, PREFILL_MODEL, run_judged
            from planner.contenders import CONTENDERS, get_contender
            from planner.plan.model import PLANNING_MODEL
            from planner.sim import Simulator
            logging.disable(logging.CRITICAL)
            outcomes = {}
            with Simulator(speed=0, model=PLANNING_MODEL) as sim:
                for name in CONTENDERS:
                    run = run_judged(get_contender(name), sim.base_url, PREFILL_MODEL, DROP_AT_90)
                    outcomes[name] = run.outcome.value
            print(json.dumps({"attempts": ATTEMPTS, "outcomes": outcomes}))
            """
        )
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert report["outcomes"]["litellm-router"] == "complete", "the runs really ran"
