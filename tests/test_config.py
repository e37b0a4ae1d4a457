"""Settings come from the environment variables of DESIGN.md, with its defaults."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from planner.config import (
    DEFAULT_MODEL,
    DEFAULT_SOCKETIO_PORT,
    ConfigError,
    Settings,
    get_settings,
    reset_settings,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.home == tmp_path / ".planner"
    assert settings.database_url == f"duckdb:///{tmp_path / '.planner' / 'planner.duckdb'}"
    assert settings.model == DEFAULT_MODEL == "claude-sonnet-5-5"
    assert settings.socketio_port == DEFAULT_SOCKETIO_PORT == 8765
    assert settings.redis_url is None
    assert settings.anthropic_api_key is None and settings.anthropic_base_url is None
    assert settings.uses_embedded_simulator
    assert not (tmp_path / ".planner").exists()  # reading settings creates nothing


def test_every_variable_is_read(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PLANNER_HOME": str(tmp_path / "home"),
            "PLANNER_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "PLANNER_JWT_SECRET": "x" * 32,
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9999",
            "PLANNER_MODEL": "claude-opus-4-5",
            "PLANNER_SOCKETIO_PORT": "0",
            "PLANNER_REDIS_URL": "redis://127.0.0.1:6379/3",
        }
    )
    assert settings.home == tmp_path / "home"
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.jwt_secret() == "x" * 32
    assert settings.anthropic_api_key == "sk-ant-test"
    assert not settings.uses_embedded_simulator
    assert settings.anthropic_base_url == "http://127.0.0.1:9999"
    assert settings.model == "claude-opus-4-5"
    assert settings.socketio_port == 0
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert not (tmp_path / "home" / "jwt_secret").exists()


def test_secrets_stay_out_of_the_repr() -> None:
    settings = Settings.from_env(
        {"ANTHROPIC_API_KEY": "sk-ant-hidden", "PLANNER_JWT_SECRET": "y" * 40}
    )
    assert "sk-ant-hidden" not in repr(settings) and "y" * 40 not in repr(settings)


def test_home_expands_the_user_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings.from_env({"PLANNER_HOME": "~/data"}).home == tmp_path / "data"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "must be a port number or 0, not 'abc'"),
        ("70000", "out of range: 70000"),
        ("-1", "out of range"),
    ],
)
def test_bad_socketio_port_is_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"PLANNER_SOCKETIO_PORT": value})


def test_jwt_secret_is_generated_once_into_home_with_mode_0600(planner_home: Path) -> None:
    secret = get_settings().jwt_secret()
    path = planner_home / "jwt_secret"
    assert len(secret.encode()) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == secret
    reset_settings()
    assert get_settings().jwt_secret() == secret
    assert [p.name for p in planner_home.iterdir() if "jwt" in p.name] == ["jwt_secret"]


def test_short_jwt_secret_is_refused_with_a_clear_message() -> None:
    with pytest.raises(
        ConfigError, match="PLANNER_JWT_SECRET is 31 bytes; HS256 needs at least 32"
    ):
        Settings.from_env({"PLANNER_JWT_SECRET": "z" * 31})
    assert Settings.from_env({"PLANNER_JWT_SECRET": "z" * 32}).jwt_secret() == "z" * 32


def test_a_damaged_secret_file_is_refused(planner_home: Path) -> None:
    planner_home.mkdir(parents=True)
    (planner_home / "jwt_secret").write_text("short\n")
    with pytest.raises(ConfigError, match="shorter than 32 bytes; delete it"):
        get_settings().jwt_secret()


def test_processes_starting_together_agree_on_one_secret(planner_home: Path) -> None:
    code = "from planner.config import get_settings; print(get_settings().jwt_secret())"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PLANNER_HOME=str(planner_home))
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(4)
    ]
    secrets = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    assert secrets == {(planner_home / "jwt_secret").read_text().strip()}
    assert len(next(iter(secrets))) >= 32


def test_settings_are_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    monkeypatch.setenv("PLANNER_MODEL", "another-model")
    assert get_settings() is first
    reset_settings()
    assert get_settings().model == "another-model"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PLANNER_LEASE_TTL_S", "soon", "PLANNER_LEASE_TTL_S must be a number of seconds"),
        ("PLANNER_SWEEP_INTERVAL_S", "0", "between 0.01 and 3600 seconds, not 0.0"),
        ("PLANNER_SHUTDOWN_GRACE_S", "-1", "between 0 and 3600 seconds, not -1.0"),
        ("PLANNER_SHUTDOWN_GRACE_S", "4000", "between 0 and 3600 seconds, not 4000.0"),
    ],
)
def test_bad_durations_are_refused_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})


def test_a_stopping_worker_hands_off_at_once_unless_given_a_grace() -> None:
    assert Settings.from_env({}).shutdown_grace_s == 0.0
    assert Settings.from_env({"PLANNER_SHUTDOWN_GRACE_S": "0"}).shutdown_grace_s == 0.0
    assert Settings.from_env({"PLANNER_SHUTDOWN_GRACE_S": "30"}).shutdown_grace_s == 30.0
