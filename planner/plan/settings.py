"""How planner asks for each stage: thinking, effort, answer format and the output budget.

These are a generation's settings, chosen deliberately per stage and stored with it
(`generations.settings`), so an experiment can compare them and a resume asks the same way.

planner's defaults, and why:

- **Discovery thinks.** It is a short analysis (a few thousand tokens) whose quality
  shapes the whole plan; on a model that thinks by default its thinking is kept
  (`adaptive`, effort `medium`). A drop during thinking costs little here.
- **The MasterPlan does not think where the model allows it.** It is a long, structured
  transcription of the discovery: thinking would delay the first token by the thinking
  time, add tokens that are wasted if the attempt dies, and leave the progress bar idle.
  On a model whose thinking is `always` on, it thinks as little as asked (`adaptive`,
  effort `low`).
- **Text, not a JSON schema, by default** (`--output-format text`). planner validates and
  repairs the answer itself; a schema-constrained answer cannot be continued by prefill,
  and a continuation turn is itself a new answer that the schema would force to be a
  whole object, so a resumed stage has to drop the schema for its continuation. The
  `json-schema` mode exists to measure that trade.
- Models that do not think by default (`off`, the 4.x family) are sent no thinking or
  effort settings unless asked, because the older models refuse parameters they lack.

`thinking` is one of `model` (send nothing: the model's default), `off`, `adaptive`, or a
budget `budget:N` (manual extended thinking, N >= 1024 and below the stage's max_tokens).
`effort` is `low | medium | high | xhigh | max`, or None to send none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from anthropic import transform_schema

from planner.catalog import ModelSpec
from planner.errors import InputError

EFFORTS = ("low", "medium", "high", "xhigh", "max")
THINKING_CHOICES = ("model", "off", "adaptive", "budget:N")
OUTPUT_FORMATS = ("text", "json-schema")
MIN_THINKING_BUDGET = 1024
OutputFormat = Literal["text", "json-schema"]


class SettingsError(InputError, ValueError):
    """A thinking, effort, format or budget setting that cannot be sent."""


@dataclass(frozen=True)
class StageSettings:
    """How one stage (discovery or MasterPlan) asks the model."""

    thinking: str = "model"
    effort: str | None = None

    def checked(self, stage: str) -> StageSettings:
        """The settings, or SettingsError naming what is wrong."""
        if self.thinking not in ("model", "off", "adaptive"):
            self.budget_tokens(stage)
        if self.effort is not None and self.effort not in EFFORTS:
            raise SettingsError(
                f"{stage} effort {self.effort!r} is not one of {', '.join(EFFORTS)}"
            )
        return self

    def budget_tokens(self, stage: str) -> int | None:
        if not self.thinking.startswith("budget:"):
            if self.thinking in ("model", "off", "adaptive"):
                return None
            raise SettingsError(
                f"{stage} thinking {self.thinking!r} is not one of {', '.join(THINKING_CHOICES)}"
            )
        raw = self.thinking.removeprefix("budget:")
        if not raw.isdigit() or int(raw) < MIN_THINKING_BUDGET:
            raise SettingsError(
                f"{stage} thinking budget {raw!r} must be a whole number of at least "
                f"{MIN_THINKING_BUDGET:,} tokens"
            )
        return int(raw)


def _default_stage(spec: ModelSpec | None, *, thinks: bool) -> StageSettings:
    """planner's choice for a stage on this model (see the module docstring)."""
    if spec is None or spec.thinking_default in (None, "off"):
        return StageSettings()  # unknown or non-thinking model: its defaults, nothing sent
    if thinks:
        return StageSettings("adaptive", "medium")
    if spec.thinking_default == "always":
        return StageSettings("adaptive", "low")
    return StageSettings("off", None)


@dataclass(frozen=True)
class GenerationSettings:
    """A generation's request settings, per stage, as stored with it."""

    discovery: StageSettings = field(default_factory=StageSettings)
    masterplan: StageSettings = field(default_factory=StageSettings)
    output_format: OutputFormat = "text"
    output_budget_tokens: int | None = None
    """Output tokens the whole generation may spend, across attempts (None: no cap)."""

    @classmethod
    def planner_defaults(cls, spec: ModelSpec | None) -> GenerationSettings:
        return cls(
            discovery=_default_stage(spec, thinks=True),
            masterplan=_default_stage(spec, thinks=False),
        )

    def stage(self, name: str) -> StageSettings:
        return self.masterplan if name == "masterplan" else self.discovery

    def checked(self, spec: ModelSpec | None) -> GenerationSettings:
        """The settings if `spec`'s model accepts them, else SettingsError in words (the
        refusals the API would answer with a 400, caught before anything is sent)."""
        for name in ("discovery", "masterplan"):
            stage = self.stage(name).checked(name)
            if spec is not None:
                _check_against_model(stage, name, spec)
        if self.output_format not in OUTPUT_FORMATS:
            raise SettingsError(
                f"output format {self.output_format!r} is not one of {', '.join(OUTPUT_FORMATS)}"
            )
        budget = self.output_budget_tokens
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int)):
            raise SettingsError(f"the output budget must be a whole number, not {budget!r}")
        if budget is not None and budget < 1:
            raise SettingsError(f"the output budget must be at least 1 token, not {budget:,}")
        return self

    def with_changes(self, **changes: Any) -> GenerationSettings:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> GenerationSettings:
        """The stored settings; a generation stored before settings existed gets the
        model's own defaults (nothing sent), which is how it was asked."""
        if not data:
            return cls()
        return cls(
            discovery=StageSettings(**data.get("discovery", {})),
            masterplan=StageSettings(**data.get("masterplan", {})),
            output_format=data.get("output_format", "text"),
            output_budget_tokens=data.get("output_budget_tokens"),
        )


def _check_against_model(stage: StageSettings, name: str, spec: ModelSpec) -> None:
    if stage.thinking == "off" and spec.thinking_off_type is None:
        raise SettingsError(
            f"{spec.name} always thinks: {name} thinking cannot be off (use adaptive with a "
            "low effort)"
        )
    if stage.thinking == "adaptive" and not spec.adaptive_thinking:
        raise SettingsError(
            f"{spec.name} has no adaptive thinking: give {name} a budget (budget:N) instead"
        )
    if stage.budget_tokens(name) is not None and not spec.budget_thinking:
        raise SettingsError(
            f"{spec.name} refuses manual thinking budgets: use adaptive {name} thinking with "
            "an effort instead"
        )
    if (
        stage.thinking == "off"
        and spec.thinking_off_type is not None
        and not spec.turns_thinking_off_at(stage.effort)
    ):
        raise SettingsError(
            f"{spec.name} turns thinking off only at low, medium or high effort, not {stage.effort}"
        )


def request_params(
    settings: GenerationSettings,
    stage: str,
    schema_model: type,
    *,
    max_tokens: int,
    spec: ModelSpec | None = None,
) -> dict[str, Any]:
    """The Messages API parameters `settings` adds to `stage`'s request."""
    chosen = settings.stage(stage)
    params: dict[str, Any] = {}
    budget = chosen.budget_tokens(stage)
    if budget is not None:
        if budget >= max_tokens:
            raise SettingsError(
                f"{stage} thinking budget {budget:,} must be below the stage's max_tokens "
                f"({max_tokens:,})"
            )
        params["thinking"] = {"type": "enabled", "budget_tokens": budget}
    elif chosen.thinking == "adaptive":
        params["thinking"] = {"type": "adaptive"}
    elif chosen.thinking == "off":
        off = spec.thinking_off_type if spec is not None else None
        params["thinking"] = {"type": off or "disabled"}
    output_config: dict[str, Any] = {}
    if chosen.effort is not None:
        output_config["effort"] = chosen.effort
    if settings.output_format == "json-schema":
        output_config["format"] = {"type": "json_schema", "schema": transform_schema(schema_model)}
    if output_config:
        params["output_config"] = output_config
    return params


def _per_stage(option: str, value: str | None) -> dict[str, str]:
    """`adaptive` (both stages) or `discovery=adaptive,masterplan=off` as {stage: value}."""
    if value is None or not value.strip():
        return {}
    if "=" not in value:
        return {"discovery": value.strip(), "masterplan": value.strip()}
    chosen: dict[str, str] = {}
    for part in value.split(","):
        stage, _, setting = part.partition("=")
        stage = stage.strip()
        if stage not in ("discovery", "masterplan") or not setting.strip():
            raise SettingsError(
                f"{option} {value!r}: give one value, or discovery=VALUE,masterplan=VALUE"
            )
        chosen[stage] = setting.strip()
    return chosen


def settings_from_options(
    spec: ModelSpec | None,
    *,
    thinking: str | None = None,
    effort: str | None = None,
    output_format: str = "text",
    output_budget_tokens: int | None = None,
) -> GenerationSettings:
    """planner's defaults for the model, with what a user gave on the command line or form
    (`--thinking`, `--effort`: one value for both stages, or per stage)."""
    defaults = GenerationSettings.planner_defaults(spec)
    thinking_by_stage = _per_stage("--thinking", thinking)
    effort_by_stage = _per_stage("--effort", effort)
    stages = {}
    for name in ("discovery", "masterplan"):
        stage = defaults.stage(name)
        stage = replace(
            stage,
            thinking=thinking_by_stage.get(name, stage.thinking),
            effort=effort_by_stage.get(name, stage.effort),
        )
        stages[name] = stage
    return GenerationSettings(
        discovery=stages["discovery"],
        masterplan=stages["masterplan"],
        output_format=output_format,  # type: ignore[arg-type]  # checked() refuses others
        output_budget_tokens=output_budget_tokens,
    ).checked(spec)
