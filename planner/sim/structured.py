"""Structured outputs: `output_config.format: {type: "json_schema", schema}` as the API takes it.

What is refused (400), from the structured-outputs documentation (read 2026-12-01):
a format other than `json_schema`, a schema that is not an object or not a valid JSON
Schema (checked against its draft's meta-schema with `jsonschema`), an assistant prefill
with a schema, and the schema features constrained decoding does not support: recursive
`$ref`s and references outside the schema, numeric constraints (`minimum`, `maximum`,
`exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`), string length constraints
(`minLength`, `maxLength`), array constraints beyond `minItems` 0 or 1 (`maxItems`,
larger `minItems`), and objects that do not set `additionalProperties: false`. (The SDK's
`messages.parse` strips such constraints from a pydantic schema before sending it.)

What is answered: the model's answer fitted to the schema, as constrained decoding
guarantees. JSON the model wrote keeps every value the schema allows; properties the
schema does not list are dropped, missing required ones are filled in, values of the
wrong type are replaced; an answer that is not JSON at all becomes a fresh instance of
the schema. No prose, no code fences.
"""

from __future__ import annotations

import json
import random
from typing import Any

UNSUPPORTED = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
)
PREFILL_WITH_SCHEMA = (
    "Prefilling the assistant message is not supported with structured outputs "
    "(output_config.format); the conversation must end with a user message."
)
_MAX_DEPTH = 64


class SchemaRefused(ValueError):
    """A format or schema the API refuses (400); the message is the API's."""


def output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The request's JSON schema, None without one; SchemaRefused for a bad format."""
    config = body.get("output_config")
    if not isinstance(config, dict) or config.get("format") is None:
        return None
    fmt = config["format"]
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise SchemaRefused("output_config.format.type: Input should be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise SchemaRefused("output_config.format.schema: Input should be a valid dictionary")
    _check_against_meta_schema(schema)
    _check(schema, schema, "schema", (), 0)
    return schema


def _check_against_meta_schema(schema: dict[str, Any]) -> None:
    """SchemaRefused if `schema` is not a JSON Schema at all (a misspelt type, `required`
    that is not a list of names, ...), judged by its `$schema` draft (2020-12 without one)."""
    # Imported here: jsonschema takes about a second to import in this environment (its
    # format checker loads rfc3987-syntax), paid only by a process that sends a schema.
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import Draft202012Validator, validator_for

    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        where = "".join(f".{part}" for part in exc.absolute_path)
        raise SchemaRefused(
            f"output_config.format.schema{where}: not a valid JSON Schema: {exc.message}"
        ) from None


def _resolve(root: dict[str, Any], ref: str, path: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise SchemaRefused(f"output_config.format.{path}: external $ref {ref!r} is not supported")
    target: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(target, dict) or part not in target:
            raise SchemaRefused(f"output_config.format.{path}: $ref {ref!r} does not resolve")
        target = target[part]
    if not isinstance(target, dict):
        raise SchemaRefused(f"output_config.format.{path}: $ref {ref!r} is not a schema")
    return target


def _check(root: dict[str, Any], node: Any, path: str, refs: tuple[str, ...], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise SchemaRefused(f"output_config.format.{path}: the schema is nested too deeply")
    if not isinstance(node, dict):
        return
    for keyword in UNSUPPORTED:
        if keyword in node:
            raise SchemaRefused(
                f"output_config.format.{path}: '{keyword}' is not supported in structured outputs"
            )
    if isinstance(node.get("minItems"), int) and node["minItems"] > 1:
        raise SchemaRefused(
            f"output_config.format.{path}: 'minItems' values other than 0 or 1 are not supported"
        )
    if "$ref" in node:
        ref = node["$ref"]
        if ref in refs:
            raise SchemaRefused(
                f"output_config.format.{path}: recursive schemas are not supported ($ref {ref!r})"
            )
        _check(root, _resolve(root, str(ref), path), path, (*refs, ref), depth + 1)
    is_object = node.get("type") == "object" or "properties" in node
    if is_object and node.get("additionalProperties") is not False:
        raise SchemaRefused(
            f"output_config.format.{path}: objects must set 'additionalProperties' to false"
        )
    for key, value in (node.get("properties") or {}).items():
        _check(root, value, f"{path}.properties.{key}", refs, depth + 1)
    for keyword in ("items", "additionalItems"):
        _check(root, node.get(keyword), f"{path}.{keyword}", refs, depth + 1)
    for keyword in ("anyOf", "allOf", "oneOf"):
        for index, option in enumerate(node.get(keyword) or []):
            _check(root, option, f"{path}.{keyword}.{index}", refs, depth + 1)


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("type")
    return kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []


def instance(
    root: dict[str, Any], node: dict[str, Any], rng: random.Random, words: list[str]
) -> Any:
    """A value the schema accepts, drawn from the seeded generator and the prompt's words."""
    if "$ref" in node:
        return instance(root, _resolve(root, node["$ref"], "schema"), rng, words)
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return rng.choice(node["enum"])
    for keyword in ("anyOf", "oneOf", "allOf"):
        if node.get(keyword):
            return instance(root, node[keyword][0], rng, words)
    kind = (_types(node) or ["object" if "properties" in node else "string"])[0]
    if kind == "object":
        properties = node.get("properties") or {}
        required = node.get("required") or list(properties)
        return {
            key: instance(root, properties[key], rng, words)
            for key in required
            if key in properties
        }
    if kind == "array":
        item = node.get("items") if isinstance(node.get("items"), dict) else {}
        return [instance(root, item, rng, words) for _ in range(max(1, node.get("minItems", 1)))]
    if kind == "integer":
        return rng.randint(1, 20)
    if kind == "number":
        return round(rng.uniform(1, 100), 1)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return " ".join(rng.choice(words) for _ in range(rng.randint(1, 4))).capitalize()


def _accepts(node: dict[str, Any], value: Any) -> bool:
    kinds = _types(node)
    if not kinds:
        return True
    checks = {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }
    return any(checks.get(kind, False) for kind in kinds)


def fit(
    root: dict[str, Any], node: dict[str, Any], value: Any, rng: random.Random, words: list[str]
) -> Any:
    """`value` made to conform to `node`, keeping what already conforms."""
    if "$ref" in node:
        return fit(root, _resolve(root, node["$ref"], "schema"), value, rng, words)
    if "const" in node:
        return node["const"]
    if node.get("enum") is not None:
        return value if value in node["enum"] else instance(root, node, rng, words)
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        for option in options:
            resolved = _resolve(root, option["$ref"], "schema") if "$ref" in option else option
            if _accepts(resolved, value):
                return fit(root, resolved, value, rng, words)
        return instance(root, options[0], rng, words)
    if not _accepts(node, value):
        return instance(root, node, rng, words)
    if isinstance(value, dict) and ("properties" in node or "object" in _types(node)):
        properties = node.get("properties") or {}
        fitted = {
            key: fit(root, properties[key], item, rng, words)
            for key, item in value.items()
            if key in properties
        }
        for key in node.get("required") or []:
            if key not in fitted and key in properties:
                fitted[key] = instance(root, properties[key], rng, words)
        return fitted
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        fitted_items = [fit(root, node["items"], item, rng, words) for item in value]
        if not fitted_items and node.get("minItems", 0) >= 1:
            fitted_items = [instance(root, node["items"], rng, words)]
        return fitted_items
    return value


def conforming_answer(
    text: str, schema: dict[str, Any], rng: random.Random, words: list[str]
) -> str:
    """The answer as constrained decoding would have written it: JSON fitting the schema."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return json.dumps(instance(schema, schema, rng, words), ensure_ascii=False)
    fitted = fit(schema, schema, value, rng, words)
    if fitted == value:
        return text  # the model's own formatting is kept when it already conforms
    return json.dumps(fitted, ensure_ascii=False, indent=2)


__all__ = ["PREFILL_WITH_SCHEMA", "SchemaRefused", "conforming_answer", "output_schema"]
