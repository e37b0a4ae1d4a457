"""Structured logs: one JSON object per line, UTC timestamps, no secrets, never a crash.

A record becomes `{"ts", "level", "logger", "message", ...extra fields, "exc"?}`. Values
are first turned into plain JSON (UUID, datetime, Decimal, Enum, bytes, sets, dataclasses,
pydantic models, anything else by `repr`), then redacted twice: by key name (`password`,
`api_key`, `authorization`, `access_token`, ...) and by value pattern (`sk-ant-...`,
JWTs, `Bearer ...`, passwords inside URLs, `token=...` pairs, registered secrets). A
value that cannot be serialised is written as its repr; a log call never raises.

Use the standard library as usual: `logging.getLogger(__name__).info("started",
extra={"generation_id": gid})`; `configure_logging(level)` installs the JSON handler.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import math
import re
import sys
import threading
import traceback
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import IO, Any
from uuid import UUID

REDACTED = "[REDACTED]"
MAX_DEPTH = 12

_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

_SECRET_WORDS = (
    r"password|passwd|pwd|passphrase|secret|token|access_token|refresh_token|id_token|"
    r"api_key|apikey|access_key|secret_key|private_key|x_api_key|authorization|"
    r"proxy_authorization|cookie|set_cookie|session_id|jwt|credentials?|bearer"
)
# A secret word as a whole `_`-separated part: `api_key`, `user_password`, `jwt_secret`,
# but not `output_tokens` or `tokens_received` (counts, not secrets).
_SECRET_KEY = re.compile(rf"(?:^|_)(?:{_SECRET_WORDS})(?:_|$)")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"sk-ant-[A-Za-z0-9_\-]+"), "sk-ant-" + REDACTED),
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 " + REDACTED),
    (re.compile(r"(?i)\b(x-api-key|authorization|cookie)(\s*[:=]\s*)[^\s,;]+"), r"\1\2" + REDACTED),
    (
        re.compile(r"(?i)\b((?:[a-z_]*_)?(?:password|passwd|secret|token|api_?key))=([^\s&;,]+)"),
        r"\1=" + REDACTED,
    ),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@]+):([^\s@/]+)@"), r"\1:" + REDACTED + "@"),
)

_registered_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact this exact value wherever it appears (configured API keys, JWT secret)."""
    if value and len(value) >= 8:
        with _secrets_lock:
            _registered_secrets.add(value)


def is_secret_key(key: str) -> bool:
    """True when a field called `key` holds a secret (`apiKey`, `X-Api-Key`, `password`)."""
    normal = _CAMEL_BOUNDARY.sub("_", key).lower()
    normal = re.sub(r"[^a-z0-9]+", "_", normal).strip("_")
    return bool(_SECRET_KEY.search(normal))


def redact_text(text: str) -> str:
    """`text` with every secret-looking value replaced."""
    for pattern, replacement in _VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    for secret in tuple(_registered_secrets):
        text = text.replace(secret, REDACTED)
    return text


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """A plain-JSON copy of `value` (dict/list/str/int/float/bool/None); never raises."""
    try:
        return _convert(value, _depth)
    except Exception as exc:  # a broken __repr__ or property must not break logging
        return f"<unserialisable {type(value).__name__}: {type(exc).__name__}>"


def _convert(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return f"<nested deeper than {MAX_DEPTH}>"
    if isinstance(value, Enum):
        return to_jsonable(value.value, depth + 1)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID | Decimal | PurePath):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(raw).decode("ascii")
    if isinstance(value, Mapping):
        return {str(to_jsonable(k, depth + 1)): to_jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [to_jsonable(item, depth + 1) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, list | tuple):
        return [to_jsonable(item, depth + 1) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return to_jsonable(fields, depth + 1)
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):
        return to_jsonable(model_dump(mode="json"), depth + 1)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return repr(value)


def redact(value: Any) -> Any:
    """Redact a plain-JSON structure: secret keys lose their values, strings their secrets."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            key: (REDACTED if is_secret_key(key) and item not in (None, "") else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    """Formats a LogRecord as one redacted JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # mismatched %-arguments: keep both parts rather than lose them
            message = f"{record.msg!r} % {record.args!r}"
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key if key not in entry else f"extra_{key}"] = value
        if record.exc_info:
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(redact(to_jsonable(entry)), ensure_ascii=False, allow_nan=False)


_HANDLER_MARK = "_planner_json_handler"


def configure_logging(level: int | str = "INFO", *, stream: IO[str] | None = None) -> None:
    """Send every log record as JSON lines to `stream` (stderr); safe to call again."""
    if isinstance(level, str):
        resolved = logging.getLevelName(level.strip().upper())
        if not isinstance(resolved, int):
            raise ValueError(
                f"unknown log level {level!r}; use DEBUG, INFO, WARNING, ERROR or CRITICAL"
            )
        level = resolved
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    from planner.config import get_settings
    from planner.errors import ConfigError

    try:
        settings = get_settings()
    except ConfigError:  # a bad setting is reported by whoever uses it, not here
        return
    register_secret(settings.anthropic_api_key)
    register_secret(settings.jwt_secret_env)
