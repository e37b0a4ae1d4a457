"""JSON log lines: every odd type serialises, secrets never reach the line."""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import jwt
import pydantic
import pytest

from planner.logging import (
    REDACTED,
    JsonFormatter,
    configure_logging,
    is_secret_key,
    redact_text,
    register_secret,
    to_jsonable,
)

JWT = jwt.encode({"sub": "someone"}, "k" * 32, algorithm="HS256")
API_KEY = "sk-ant-api03-AbC_dEf-1234567890"


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Attempt:
    number: int
    started: datetime
    api_key: str


class Request(pydantic.BaseModel):
    id: uuid.UUID
    cost: Decimal
    password: str


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    configure_logging("DEBUG", stream=stream)
    yield stream
    root.handlers[:] = before[1]
    root.setLevel(before[0])


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _log(stream: io.StringIO, message: str, *args: Any, **extra: Any) -> dict[str, Any]:
    logging.getLogger("planner.test").info(message, *args, extra=extra)
    return _records(stream)[-1]


def test_one_json_object_per_line_with_utc_timestamp(lines: io.StringIO) -> None:
    log = logging.getLogger("planner.test")
    log.info("first")
    log.warning("second\nwith a newline")
    log.debug("third %d", 3)
    records = _records(lines)
    assert [r["message"] for r in records] == ["first", "second\nwith a newline", "third 3"]
    assert [r["level"] for r in records] == ["INFO", "WARNING", "DEBUG"]
    assert {r["logger"] for r in records} == {"planner.test"}
    for record in records:
        stamp = datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
        assert stamp.utcoffset() == timedelta(0)
        assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=1)


def test_every_odd_type_serialises(lines: io.StringIO) -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    moment = datetime(2026, 11, 29, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    record = _log(
        lines,
        "odd types",
        ident=ident,
        moment=moment,
        naive=datetime(2026, 1, 2, 3, 4, 5),
        day=date(2026, 11, 29),
        wait=timedelta(seconds=1.5),
        price=Decimal("19.990"),
        colour=Colour.RED,
        priority=Level.HIGH,
        level="a field named like a built-in one",
        text_bytes=b"plain",
        raw_bytes=b"\xff\x00\x01",
        tags={"b", "a", "c"},
        frozen=frozenset({3, 1, 2}),
        attempt=Attempt(2, moment, "not-logged"),
        model=Request(id=ident, cost=Decimal("0.25"), password="hunter2hunter2"),
        path=Path("/tmp/x"),
        nested={ident: [Colour.RED, {1, 2}], "deep": ({"x": Decimal("1")},)},
        nan=float("nan"),
        error=ValueError("bad value"),
        anything=object(),
    )
    assert record["ident"] == str(ident)
    assert record["moment"] == "2026-11-29T08:00:00+00:00"
    assert record["naive"] == "2026-01-02T03:04:05"
    assert record["day"] == "2026-11-29"
    assert record["wait"] == 1.5
    assert record["price"] == "19.990"
    assert record["colour"] == "red" and record["priority"] == 3
    assert record["level"] == "INFO"
    assert record["extra_level"] == "a field named like a built-in one"
    assert record["text_bytes"] == "plain"
    assert record["raw_bytes"] == "base64:/wAB"
    assert record["tags"] == ["a", "b", "c"] and record["frozen"] == [1, 2, 3]
    assert record["attempt"] == {
        "number": 2,
        "started": "2026-11-29T08:00:00+00:00",
        "api_key": REDACTED,
    }
    assert record["model"] == {"id": str(ident), "cost": "0.25", "password": REDACTED}
    assert record["path"] == "/tmp/x"
    assert record["nested"] == {str(ident): ["red", [1, 2]], "deep": [{"x": "1"}]}
    assert record["nan"] == "nan"
    assert record["error"] == "ValueError: bad value"
    assert record["anything"].startswith("<object object at")


def test_values_that_break_while_serialising_do_not_break_the_log(lines: io.StringIO) -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    loop: list[Any] = []
    loop.append(loop)
    record = _log(lines, "still logged", hostile=Hostile(), loop=loop)
    assert record["message"] == "still logged"
    assert "unserialisable Hostile" in record["hostile"]
    assert "nested deeper" in json.dumps(record["loop"])


def test_bad_format_arguments_keep_the_message() -> None:
    # Formatted directly: pytest's capture handler would raise on the same record first.
    record = logging.makeLogRecord({"msg": "needs two %s %s", "args": ("only one",)})
    formatted = json.loads(JsonFormatter().format(record))
    assert formatted["message"] == "'needs two %s %s' % ('only one',)"


def test_exceptions_are_logged_with_their_traceback(lines: io.StringIO) -> None:
    try:
        raise KeyError(f"lookup failed with {API_KEY}")
    except KeyError:
        logging.getLogger("planner.test").exception("it failed")
    record = _records(lines)[-1]
    assert record["level"] == "ERROR"
    assert "Traceback" in record["exc"] and "KeyError" in record["exc"]
    assert API_KEY not in record["exc"]


def test_secrets_are_redacted_by_key_name(lines: io.StringIO) -> None:
    record = _log(
        lines,
        "request",
        password="hunter2",
        api_key="abc",
        headers={
            "Authorization": "Bearer abc.def",
            "x-api-key": "whatever",
            "Content-Type": "application/json",
            "Cookie": "session=1",
        },
        apiKey="camel",
        access_token="t1",
        jwt_secret="s" * 40,
        output_tokens=1234,
        tokens_received=56,
        max_tokens=4096,
    )
    assert record["password"] == record["api_key"] == record["apiKey"] == REDACTED
    assert record["access_token"] == record["jwt_secret"] == REDACTED
    assert record["headers"]["Authorization"] == REDACTED
    assert record["headers"]["x-api-key"] == REDACTED
    assert record["headers"]["Cookie"] == REDACTED
    assert record["headers"]["Content-Type"] == "application/json"
    assert (record["output_tokens"], record["tokens_received"], record["max_tokens"]) == (
        1234,
        56,
        4096,
    )


def test_secrets_are_redacted_by_value_wherever_they_appear(lines: io.StringIO) -> None:
    record = _log(
        lines,
        "calling with %s and token %s",
        API_KEY,
        JWT,
        note=f"header was Authorization: Bearer {JWT}",
        url="postgresql+psycopg://planner:pa55word@db.example:5432/planner",
        query="https://x.example/cb?user=ann&password=pa55word&next=/home",
        items=[API_KEY, {"text": f"x-api-key: {API_KEY}"}],
        raw=API_KEY.encode(),
    )
    line = json.dumps(record)
    for secret in (API_KEY, JWT, "pa55word", "AbC_dEf"):
        assert secret not in line
    assert record["message"] == f"calling with sk-ant-{REDACTED} and token {REDACTED}"
    assert record["url"] == f"postgresql+psycopg://planner:{REDACTED}@db.example:5432/planner"
    assert "user=ann" in record["query"] and "next=/home" in record["query"]
    assert "db.example:5432/planner" in record["url"]


def test_registered_secrets_are_redacted_even_when_they_look_ordinary(
    lines: io.StringIO,
) -> None:
    register_secret("plain-looking-value-42")
    record = _log(lines, "the value is plain-looking-value-42", field="plain-looking-value-42")
    assert "plain-looking-value-42" not in json.dumps(record)


def test_configure_logging_registers_the_configured_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from planner.config import reset_settings

    monkeypatch.setenv("ANTHROPIC_API_KEY", "key-without-the-usual-prefix-0001")
    reset_settings()
    stream = io.StringIO()
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        configure_logging("INFO", stream=stream)
        logging.getLogger("planner.test").info("key is key-without-the-usual-prefix-0001")
    finally:
        root.handlers[:] = handlers
    assert "key-without-the-usual-prefix-0001" not in stream.getvalue()


def test_configure_logging_is_idempotent_and_checks_the_level(lines: io.StringIO) -> None:
    configure_logging("info", stream=lines)
    logging.getLogger("planner.test").info("once")
    assert [r["message"] for r in _records(lines)].count("once") == 1
    logging.getLogger("planner.test").debug("below the level")
    assert "below the level" not in lines.getvalue()
    with pytest.raises(ValueError, match="unknown log level 'chatty'"):
        configure_logging("chatty")


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("user_password", True),
        ("Authorization", True),
        ("X-Api-Key", True),
        ("anthropicApiKey", True),
        ("refresh_token", True),
        ("token", True),
        ("secret", True),
        ("output_tokens", False),
        ("tokens_received", False),
        ("token_count_estimate", True),
        ("username", False),
        ("generation_id", False),
    ],
)
def test_secret_key_names(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_to_jsonable_and_redact_text_are_usable_alone() -> None:
    assert to_jsonable({"a": {1, 2}, "b": Colour.RED}) == {"a": [1, 2], "b": "red"}
    assert redact_text("nothing secret here") == "nothing secret here"
