"""Settings from the environment, read in one place.

Every variable of DESIGN.md is read here and nowhere else. `Settings.from_env()` takes a
snapshot; `get_settings()` caches one per process (tests call `reset_settings()` after
changing the environment).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from planner.catalog import default_model
from planner.errors import ConfigError
from planner.private_files import FOLDER_MODE, narrow, private_folder

# The current Sonnet in the catalogue; claude-sonnet-4-5, the default until 2026-11-30,
# reached end of life that day.
DEFAULT_MODEL = default_model().name
DEFAULT_SOCKETIO_PORT = 8765
MIN_JWT_SECRET_BYTES = 32
DEFAULT_MAX_ACTIVE_GENERATIONS = 3  # per user, queued and running (planner.plan.service)
# A runner renews its lease with every write, at least every heartbeat; a lease not renewed
# for `lease_ttl_s` is expired and the sweep (every `sweep_interval_s`) interrupts the
# generation: detection within lease_ttl_s + sweep_interval_s of a runner's death.
DEFAULT_HEARTBEAT_S = 2.0
DEFAULT_LEASE_TTL_S = 10.0
DEFAULT_SWEEP_INTERVAL_S = 2.0
# A worker asked to stop (SIGTERM, Ctrl-C) lets its generations run this long, then hands
# each one still running to the other workers: interrupted and, with auto-resume, resumed
# there from its checkpoint (planner.jobs.tasks). 0: at once.
DEFAULT_SHUTDOWN_GRACE_S = 0.0


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    model: str = DEFAULT_MODEL
    anthropic_api_key: str | None = field(default=None, repr=False)
    anthropic_base_url: str | None = None
    socketio_port: int = DEFAULT_SOCKETIO_PORT
    redis_url: str | None = None
    jwt_secret_env: str | None = field(default=None, repr=False)
    signup_enabled: bool = True
    max_active_generations: int = DEFAULT_MAX_ACTIVE_GENERATIONS
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    lease_ttl_s: float = DEFAULT_LEASE_TTL_S
    sweep_interval_s: float = DEFAULT_SWEEP_INTERVAL_S
    auto_resume: bool = True
    shutdown_grace_s: float = DEFAULT_SHUTDOWN_GRACE_S

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("PLANNER_HOME") or "./.planner").expanduser().resolve()
        database_url = env.get("PLANNER_DATABASE_URL") or f"duckdb:///{home / 'planner.duckdb'}"
        port_text = env.get("PLANNER_SOCKETIO_PORT", str(DEFAULT_SOCKETIO_PORT)).strip()
        try:
            socketio_port = int(port_text)
        except ValueError:
            raise ConfigError(
                f"PLANNER_SOCKETIO_PORT must be a port number or 0, not {port_text!r}"
            ) from None
        if not 0 <= socketio_port <= 65535:
            raise ConfigError(f"PLANNER_SOCKETIO_PORT out of range: {socketio_port}")
        cap_text = env.get("PLANNER_MAX_ACTIVE_GENERATIONS", "").strip()
        try:
            max_active = int(cap_text) if cap_text else DEFAULT_MAX_ACTIVE_GENERATIONS
        except ValueError:
            raise ConfigError(
                f"PLANNER_MAX_ACTIVE_GENERATIONS must be a whole number, not {cap_text!r}"
            ) from None
        if max_active < 1:
            raise ConfigError(f"PLANNER_MAX_ACTIVE_GENERATIONS must be at least 1: {max_active}")
        secret = env.get("PLANNER_JWT_SECRET") or None
        if secret is not None and len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ConfigError(
                f"PLANNER_JWT_SECRET is {len(secret.encode())} bytes; "
                f"HS256 needs at least {MIN_JWT_SECRET_BYTES}"
            )
        return cls(
            home=home,
            database_url=database_url,
            model=env.get("PLANNER_MODEL") or DEFAULT_MODEL,
            anthropic_api_key=env.get("ANTHROPIC_API_KEY") or None,
            anthropic_base_url=env.get("ANTHROPIC_BASE_URL") or None,
            socketio_port=socketio_port,
            redis_url=env.get("PLANNER_REDIS_URL") or None,
            jwt_secret_env=secret,
            max_active_generations=max_active,
            signup_enabled=_flag(env, "PLANNER_SIGNUP"),
            heartbeat_s=_seconds(env, "PLANNER_HEARTBEAT_S", DEFAULT_HEARTBEAT_S),
            lease_ttl_s=_seconds(env, "PLANNER_LEASE_TTL_S", DEFAULT_LEASE_TTL_S),
            sweep_interval_s=_seconds(env, "PLANNER_SWEEP_INTERVAL_S", DEFAULT_SWEEP_INTERVAL_S),
            auto_resume=_flag(env, "PLANNER_AUTO_RESUME"),
            shutdown_grace_s=_seconds(
                env, "PLANNER_SHUTDOWN_GRACE_S", DEFAULT_SHUTDOWN_GRACE_S, minimum=0.0
            ),
        )

    @property
    def uses_embedded_simulator(self) -> bool:
        """No API key: planner talks to its own simulator."""
        return self.anthropic_api_key is None

    def ensure_home(self) -> Path:
        """The data folder, created 0700 (and narrowed to 0700 if it was more open)."""
        private_folder(self.home)
        narrow(self.home, FOLDER_MODE)
        return self.home

    def jwt_secret(self) -> str:
        """The HS256 key: from the environment, else generated once into the home folder."""
        if self.jwt_secret_env is not None:
            return self.jwt_secret_env
        path = self.ensure_home() / "jwt_secret"
        if not path.exists():
            _create_secret_file(path)
        secret = path.read_text().strip()
        if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ConfigError(
                f"{path} holds a secret shorter than {MIN_JWT_SECRET_BYTES} bytes; "
                "delete it to generate a new one"
            )
        return secret


def _flag(env: os._Environ[str] | dict[str, str], name: str) -> bool:
    """On unless set to 0/false/no/off."""
    return env.get(name, "1").strip().lower() not in {"0", "false", "no", "off"}


def _seconds(
    env: os._Environ[str] | dict[str, str], name: str, default: float, *, minimum: float = 0.01
) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {text!r}") from None
    if not minimum <= value <= 3600:
        raise ConfigError(f"{name} must be between {minimum:g} and 3600 seconds, not {value}")
    return value


def _create_secret_file(path: Path) -> None:
    """Write a new secret so that no reader ever sees the file half-written.

    The secret goes to a private temporary file first and is then hard-linked into
    place; if another process won the race, its secret stays and ours is dropped.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: keep its
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def reset_settings() -> None:
    global _settings
    _settings = None
