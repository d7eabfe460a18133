"""Loading the plan from its YAML file, reporting every problem at once with its place.

:func:`load_plan` (a path) and :func:`load_plan_text` (YAML text) read the plan that a project
manager edits (``deploy/plan/samsa-phaseout.yaml``) and raise one
:class:`~models.errors.ValidationFailed` listing **every** problem, each as ``file:line:
path: message``, sorted by line: YAML syntax and duplicate keys, field errors (unknown keys,
bad ids, impossible dates) and the cross-reference problems of
:func:`~models.plan.check.check_plan`.

So that field errors do not hide cross-reference problems, a broken entry is *salvaged*:
its broken fields are replaced by harmless stand-ins or dropped, and what remains is still
checked (:func:`parse_plan`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from models.errors import Problem, ValidationFailed
from models.plan.check import check_plan
from models.plan.model import Budget, Gate, Milestone, Phase, Plan
from models.yamlsource import LineMap, problems_from_pydantic, read_yaml


def parse_plan(data: Any, lines: LineMap) -> Plan:
    """Validate plain data (already read from YAML) into a Plan; raise every problem once."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise ValidationFailed(
            lines.source, [Problem(lines.where(()), "a plan must be a mapping of keys")]
        )
    plan: Plan
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_pydantic(exc, lines))
        # keep checking what could be read, so cross-reference problems show up too
        plan = _partial_plan(data)
    problems.extend(check_plan(plan, lines))
    if problems:
        raise ValidationFailed(lines.source, _sorted(problems))
    return plan


#: Stand-ins for broken fields, so that the rest of a broken entry is still checked.
_PLACEHOLDERS: dict[str, Any] = {
    "title": "?",
    "owner": "?",
    "workstream": "routines",
    "due": "transition",  # no anchor and no fixed date: adds no false date problems
    "action": "manual",
}


def _salvage(cls: type[BaseModel], raw: Any) -> Any:
    """``cls`` built from ``raw`` with its broken fields replaced or dropped, or None."""
    if not isinstance(raw, dict):
        return None
    data = dict(raw)
    for _ in range(len(data) + 2):
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            bad = {e["loc"][0] for e in exc.errors() if e["loc"]}
            if not bad:  # a rule across fields (e.g. action without its parameters)
                data["action"], data["action_params"] = "manual", {}
                bad = set()
            for key in bad:
                if key in _PLACEHOLDERS:
                    data[str(key)] = _PLACEHOLDERS[str(key)]
                elif key == "id":
                    return None
                else:
                    data.pop(key, None)  # type: ignore[arg-type]
    return None


def _partial_plan(data: dict[str, Any]) -> Plan:
    """The plan with broken fields replaced or dropped, for cross-reference checks after
    field errors (so a project manager sees those problems in the same run)."""
    raw_milestones = data.get("milestones")
    milestones = [
        m
        for m in (
            _salvage(Milestone, raw)
            for raw in (raw_milestones if isinstance(raw_milestones, list) else [])
        )
        if m is not None
    ]
    raw_gates = data.get("gates") if isinstance(data.get("gates"), dict) else {}
    gates: dict[str, Gate] = {}
    for name, raw in (raw_gates or {}).items():
        gate = _salvage(Gate, raw)
        gates[str(name)] = gate if gate is not None else Gate(all_live=True, live_for_days=0)
    raw_phases = data.get("phases")
    phases: list[Phase] = []
    for raw in raw_phases if isinstance(raw_phases, list) else []:
        phase = _salvage(Phase, raw)
        if phase is None and isinstance(raw, dict) and isinstance(raw.get("id"), str):
            phase = Phase.model_construct(id=raw["id"], title=raw["id"], description="")
        if phase is not None:
            phases.append(phase)
    budget = _salvage(Budget, data.get("budget") or {}) or Budget()
    return Plan.model_construct(
        title="?",
        description="",
        phases=phases,
        gates=gates,
        budget=budget,
        milestones=milestones,
    )


def _sorted(problems: list[Problem]) -> list[Problem]:
    def key(p: Problem) -> tuple[int, str]:
        _, _, tail = p.where.rpartition(":")
        return (int(tail) if tail.isdigit() else 0, p.message)

    return sorted(problems, key=key)


def load_plan_text(text: str, source: str = "plan.yaml") -> Plan:
    """A validated plan from YAML text; ``source`` names it in problems."""
    data, lines, problems = read_yaml(text, source)
    if problems and data is None:
        raise ValidationFailed(source, problems)
    try:
        plan = parse_plan(data, lines)
    except ValidationFailed as exc:
        raise ValidationFailed(source, _sorted(problems + exc.problems)) from None
    if problems:  # e.g. duplicate YAML keys
        raise ValidationFailed(source, _sorted(problems))
    return plan


def load_plan(path: Path) -> Plan:
    """Read and validate the plan at ``path``; ValidationFailed lists every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationFailed(str(path), [Problem(str(path), "plan file not found")]) from None
    except OSError as exc:
        raise ValidationFailed(str(path), [Problem(str(path), f"cannot read: {exc}")]) from None
    return load_plan_text(text, path.name)
