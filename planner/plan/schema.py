"""The shape of planner's two JSON answers: discovery and MasterPlan.

Pydantic checks each object; `consistency_errors` checks what spans the whole plan
(contiguous numbering, dependencies that exist and form no cycle, declared totals equal
to actual ones). The simulator's plan writer and the generator's parser both use these
models, so what the simulator writes is what the generator accepts.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Complexity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class BoundedContext(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    aggregates: list[str] = Field(default_factory=list)


class Service(_Model):
    name: str = Field(min_length=1)
    responsibility: str = ""


class Discovery(_Model):
    domain: str = Field(min_length=1)
    summary: str = ""
    bounded_contexts: list[BoundedContext] = Field(min_length=1)
    aggregates: list[str] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)


class Subtask(_Model):
    subtask_number: int = Field(ge=1)
    name: str = Field(min_length=1)
    description: str = ""


class Task(_Model):
    task_number: int = Field(ge=1, description="global across the plan, from 1")
    name: str = Field(min_length=1)
    description: str = ""
    complexity: Complexity = Complexity.medium
    estimated_hours: float = Field(default=4.0, gt=0)
    depends_on: list[int] = Field(default_factory=list)
    target_files: list[str] = Field(default_factory=list)
    subtasks: list[Subtask] = Field(default_factory=list)


class Milestone(_Model):
    milestone_number: int = Field(ge=1, description="global across the plan, from 1")
    name: str = Field(min_length=1)
    description: str = ""
    tasks: list[Task] = Field(min_length=1)


class Phase(_Model):
    phase_number: int = Field(ge=1)
    name: str = Field(min_length=1)
    description: str = ""
    milestones: list[Milestone] = Field(min_length=1)


class MasterPlan(_Model):
    project_name: str = Field(min_length=1)
    description: str = ""
    architecture_style: str = ""
    tech_stack: dict[str, list[str]] = Field(default_factory=dict)
    total_phases: int = Field(ge=1)
    total_milestones: int = Field(ge=1)
    total_tasks: int = Field(ge=1)
    total_subtasks: int = Field(ge=0)
    estimated_total_hours: float = Field(default=0, ge=0)
    phases: list[Phase] = Field(min_length=1)

    def milestones(self) -> list[Milestone]:
        return [m for p in self.phases for m in p.milestones]

    def tasks(self) -> list[Task]:
        return [t for m in self.milestones() for t in m.tasks]

    def counts(self) -> dict[str, int]:
        tasks = self.tasks()
        return {
            "phases": len(self.phases),
            "milestones": len(self.milestones()),
            "tasks": len(tasks),
            "subtasks": sum(len(t.subtasks) for t in tasks),
        }


def _numbering_error(what: str, numbers: list[int]) -> str | None:
    expected = list(range(1, len(numbers) + 1))
    if numbers != expected:
        return f"{what} must be numbered 1..{len(numbers)} in order, got {numbers}"
    return None


def _cycle(graph: dict[int, list[int]]) -> list[int] | None:
    """A dependency cycle as a list of task numbers, or None."""
    state: dict[int, int] = {}
    stack: list[int] = []

    def visit(node: int) -> list[int] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def consistency_errors(plan: MasterPlan) -> list[str]:
    """Everything wrong with the plan as a whole; empty when it is consistent."""
    errors: list[str] = []
    checks = [
        ("phases", [p.phase_number for p in plan.phases]),
        ("milestones", [m.milestone_number for m in plan.milestones()]),
        ("tasks", [t.task_number for t in plan.tasks()]),
    ]
    checks += [
        (f"subtasks of task {t.task_number}", [s.subtask_number for s in t.subtasks])
        for t in plan.tasks()
    ]
    errors += [e for what, numbers in checks if (e := _numbering_error(what, numbers))]
    known = {t.task_number for t in plan.tasks()}
    for task in plan.tasks():
        missing = sorted(set(task.depends_on) - known)
        if missing:
            errors.append(f"task {task.task_number} depends on unknown tasks {missing}")
        if task.task_number in task.depends_on:
            errors.append(f"task {task.task_number} depends on itself")
    graph = {t.task_number: [d for d in t.depends_on if d in known] for t in plan.tasks()}
    if cycle := _cycle(graph):
        errors.append("dependency cycle: " + " -> ".join(map(str, cycle)))
    counts = plan.counts()
    for key, declared in (
        ("phases", plan.total_phases),
        ("milestones", plan.total_milestones),
        ("tasks", plan.total_tasks),
        ("subtasks", plan.total_subtasks),
    ):
        if declared != counts[key]:
            errors.append(f"total_{key} says {declared} but the plan has {counts[key]}")
    return errors
