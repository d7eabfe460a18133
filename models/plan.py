"""The phase-out plan: phases, workstreams, milestones, gates and the budget frame, as data.

The plan lives in a version-controlled YAML file (``deploy/plan/samsa-phaseout.yaml``) that a
project manager edits. :func:`load_plan` reads it and reports **every** problem at once, each
with its place in the file (``samsa-phaseout.yaml:123: milestones[4].depends_on: unknown
milestone 'foo'``): unknown keys, duplicate or unknown ids, dependency cycles (named),
relative dates that cannot be resolved, irreversible milestones without a gate, impossible
dates.

A milestone's ``due`` is a small date expression:

- ``2026-03-31``: an absolute date;
- ``transition``, ``transition + 90d``, ``transition - 6m``: relative to the transition date
  (when the successor covers all of SAMSA's functions in every area; see
  :mod:`models.schedule`);
- ``area south + 30d``: 30 days after the successor is live in that area (south, north,
  east, west): the latest go-live of the stages covering it, projected like the transition;
- ``after <milestone> + 14d``: 14 days after that milestone's due date (or its real
  completion date, once it is done);
- ``before <milestone> - 30d``: 30 days before that milestone's due date.

Offsets are a number and a unit: ``d`` days, ``w`` weeks, ``m`` calendar months.
"""

from __future__ import annotations

import calendar
import enum
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.errors import Problem, ValidationFailed
from models.yamlsource import LineMap, problems_from_pydantic, read_yaml

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
_ID_RE = re.compile(ID_PATTERN)

#: The four areas of the successor's rollout, with their Swedish and English names.
AREA_NAMES: dict[str, dict[str, str]] = {
    "south": {"sv": "Södra området", "en": "Southern area"},
    "north": {"sv": "Norra området", "en": "Northern area"},
    "east": {"sv": "Östra området", "en": "Eastern area"},
    "west": {"sv": "Västra området", "en": "Western area"},
}
Area = Literal["south", "north", "east", "west"]


class Workstream(enum.StrEnum):
    """The six workstreams of the phase-out."""

    archive = "archive"
    extracts = "extracts"
    integrations = "integrations"
    statistics = "statistics"
    routines = "routines"  # routines and communication
    security = "security"


# -- due-date expressions ----------------------------------------------------------------

_DUE_RE = re.compile(
    r"^\s*(?:(?P<transition>transition)|(?P<rel>after|before|area)\s+(?P<anchor>[A-Za-z0-9_-]+))"
    r"\s*(?:(?P<sign>[+-])\s*(?P<n>\d+)\s*(?P<unit>[dwm]))?\s*$"
)
_ISO_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


@dataclass(frozen=True)
class DueSpec:
    """A parsed ``due`` expression: ``kind`` is absolute, transition, area, after or before.

    ``anchor`` is a milestone id (after/before) or an area (area)."""

    kind: Literal["absolute", "transition", "area", "after", "before"]
    absolute: date | None = None
    anchor: str | None = None  # milestone id for after/before
    amount: int = 0  # signed
    unit: Literal["d", "w", "m"] = "d"

    def apply(self, base: date) -> date:
        """``base`` moved by this spec's offset."""
        return shift(base, self.amount, self.unit)

    def __str__(self) -> str:
        if self.kind == "absolute":
            return self.absolute.isoformat() if self.absolute else ""
        head = "transition" if self.kind == "transition" else f"{self.kind} {self.anchor}"
        if not self.amount:
            return head
        sign = "+" if self.amount > 0 else "-"
        return f"{head} {sign} {abs(self.amount)}{self.unit}"


def shift(base: date, amount: int, unit: str) -> date:
    """``base`` + ``amount`` days/weeks/calendar months (month ends are clamped)."""
    if unit == "d":
        return base + timedelta(days=amount)
    if unit == "w":
        return base + timedelta(weeks=amount)
    month0 = base.month - 1 + amount
    year, month = base.year + month0 // 12, month0 % 12 + 1
    day = min(base.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def parse_due(text: str) -> DueSpec:
    """Parse a ``due`` expression; raises ValueError with a readable message."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            "empty due date; write e.g. '2026-03-31', 'transition + 90d' or "
            "'after <milestone> + 14d'"
        )
    m = _ISO_RE.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        try:
            return DueSpec("absolute", absolute=date(y, mo, d))
        except ValueError:
            raise ValueError(
                f"impossible date '{text.strip()}': no such day in the calendar"
            ) from None
    m = _DUE_RE.match(text)
    if not m:
        raise ValueError(
            f"cannot read due date '{text}': write an ISO date (2026-03-31), "
            "'transition + 90d', 'area south + 30d', 'after <milestone> + 14d' or "
            "'before <milestone> - 30d' "
            "(units: d, w, m)"
        )
    amount = int(m["n"]) if m["n"] else 0
    if m["sign"] == "-":
        amount = -amount
    unit = m["unit"] or "d"
    rel = m["rel"]
    if rel == "after" and amount < 0:
        raise ValueError(f"'{text}': 'after' takes a '+' offset (write 'before … - N' instead)")
    if rel == "before" and amount > 0:
        raise ValueError(f"'{text}': 'before' takes a '-' offset (write 'after … + N' instead)")
    if m["transition"] or m["anchor"] == "transition":  # 'before transition - 6m' reads well
        return DueSpec("transition", amount=amount, unit=unit)  # type: ignore[arg-type]
    if rel == "area":
        if m["anchor"] not in AREA_NAMES:
            raise ValueError(
                f"'{text}': unknown area '{m['anchor']}' (use {', '.join(AREA_NAMES)})"
            )
        return DueSpec("area", anchor=m["anchor"], amount=amount, unit=unit)  # type: ignore[arg-type]
    return DueSpec(rel, anchor=m["anchor"], amount=amount, unit=unit)  # type: ignore[arg-type]


_parse_due_cached = lru_cache(maxsize=8192)(parse_due)


# -- the models --------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Recurring(_Strict):
    """A milestone that repeats (e.g. monthly statistics) until another milestone is due/done.

    The first occurrence is the milestone's ``due`` date (moved forward to ``day``); the last
    is on or before the ``until`` milestone's due date (or its completion date, once done).
    """

    every: Literal["month"] = "month"
    day: int = Field(1, description="Day of the month, 1-28 (every month has it).")
    until: str = Field(..., description="Milestone id that ends the series.")

    @field_validator("day")
    @classmethod
    def _day(cls, v: int) -> int:
        if not 1 <= v <= 28:
            raise ValueError(
                f"impossible day {v}: a monthly milestone needs a day 1-28, which every month has"
            )
        return v


class Gate(_Strict):
    """What the successor must cover before a milestone may run.

    Every condition given must hold; a paused or cancelled stage involved keeps it closed.

    - ``stages``: these stages are live;
    - ``areas``: every stage covering each area is live;
    - ``functions``: every stage that carries each SAMSA function is live, and every area
      has at least one such stage;
    - ``organisations``: each organisation is covered by a live stage;
    - ``all_live``: every stage of the rollout is live and covers all of SAMSA's functions;
    - ``live_for_days``: the stages involved have been live at least this many days.
    """

    description: str = ""
    stages: list[str] = Field(default_factory=list)
    areas: list[Area] = Field(default_factory=list)
    functions: list[str] = Field(default_factory=list)
    organisations: list[str] = Field(default_factory=list)
    all_live: bool = False
    live_for_days: int = Field(0, ge=0)

    @property
    def has_conditions(self) -> bool:
        return bool(
            self.stages or self.areas or self.functions or self.organisations or self.all_live
        )


class Phase(_Strict):
    """A phase of the phase-out (e.g. preparation, transition, decommissioning)."""

    id: str = Field(..., pattern=ID_PATTERN)
    title: str
    description: str = ""


class Milestone(_Strict):
    """One step of the phase-out, with who owns it, when it is due and what guards it."""

    id: str = Field(..., pattern=ID_PATTERN)
    title: str = Field(..., min_length=1, description="Swedish title shown to people.")
    description: str = ""
    owner: str = Field(..., min_length=1)
    workstream: Workstream
    phase: str | None = None
    due: str = Field(..., description="Absolute date or relative expression (see module doc).")
    depends_on: list[str] = Field(default_factory=list)
    gate: str | None = None
    irreversible: bool = False
    action: str = Field("manual", pattern=ID_PATTERN)
    action_params: dict[str, Any] = Field(default_factory=dict)
    notify: list[str] = Field(default_factory=list)
    cost_estimate: int | None = Field(
        None, ge=0, description="Estimated cost in SEK (per occurrence when recurring)."
    )
    recurring: Recurring | None = None

    @field_validator("due", mode="before")
    @classmethod
    def _due(cls, v: Any) -> Any:
        if isinstance(v, date):  # YAML reads 2026-03-31 as a date
            return v.isoformat()
        if isinstance(v, str):
            parse_due(v)
        return v

    @field_validator("notify")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        for tag in v:
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", tag):
                raise ValueError(f"notify tag '{tag}' may hold only letters, digits, - _ .")
        return v

    @model_validator(mode="after")
    def _integration_params(self) -> Milestone:
        if self.action == "integration" and not self.action_params.get("integration"):
            raise ValueError(
                "action 'integration' needs action_params.integration (the integration's name)"
            )
        return self

    @property
    def due_spec(self) -> DueSpec:
        return _parse_due_cached(self.due)

    @property
    def is_manual(self) -> bool:
        return self.action == "manual"


class Budget(_Strict):
    """The yearly budget frame: SAMSA's total budget and the development share allowed."""

    total_per_year_sek: dict[int, int] = Field(default_factory=dict)
    frames_percent: dict[int, tuple[float, float]] = Field(default_factory=dict)
    note: str = ""

    def frame_sek(self, year: int) -> tuple[float, float] | None:
        """(lowest, highest) development spend in SEK for ``year``, or None without a frame."""
        if year not in self.frames_percent or year not in self.total_per_year_sek:
            return None
        low, high = self.frames_percent[year]
        total = self.total_per_year_sek[year]
        return total * low / 100, total * high / 100


class Plan(_Strict):
    """The whole phase-out plan. Build it with :func:`load_plan` (validated)."""

    title: str = "Avveckling av SAMSA IT-tjänst"
    description: str = ""
    phases: list[Phase] = Field(default_factory=list)
    gates: dict[str, Gate] = Field(default_factory=dict)
    budget: Budget = Field(default_factory=Budget)
    milestones: list[Milestone] = Field(default_factory=list)

    def milestone(self, milestone_id: str) -> Milestone:
        """The milestone with this id; KeyError naming near matches otherwise."""
        for m in self.milestones:
            if m.id == milestone_id:
                return m
        near = near_matches(milestone_id, [m.id for m in self.milestones])
        hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
        raise KeyError(f"no milestone '{milestone_id}' in the plan{hint}")

    def gate_for(self, milestone: Milestone | str) -> Gate | None:
        """The gate guarding ``milestone`` (None: no gate, always open)."""
        m = self.milestone(milestone) if isinstance(milestone, str) else milestone
        return self.gates.get(m.gate) if m.gate else None

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.milestones]


def near_matches(word: str, candidates: list[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates that look like ``word`` (for 'did you mean' hints)."""
    import difflib

    found = difflib.get_close_matches(word, candidates, n=n, cutoff=0.6)
    if len(word) >= 3:
        found += [c for c in candidates if word in c and c not in found]
    return found[:n]


# -- cross-reference checks --------------------------------------------------------------


def _find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each cycle met by depth-first search, once (as a → b → a); iterative, so long chains
    of milestones cannot exhaust Python's recursion limit."""
    cycles: list[list[str]] = []
    seen_keys: set[tuple[str, ...]] = set()
    color: dict[str, int] = {}  # 1 on the current path, 2 finished
    for root in graph:
        if root in color:
            continue
        path: list[str] = [root]
        color[root] = 1
        iters = [iter(graph.get(root, []))]
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                color[path.pop()] = 2
                iters.pop()
                continue
            if nxt not in graph:
                continue
            state = color.get(nxt)
            if state == 1:
                cyc = path[path.index(nxt) :]
                i = cyc.index(min(cyc))
                key = tuple(cyc[i:] + cyc[:i])
                if key not in seen_keys:
                    seen_keys.add(key)
                    cycles.append([*key, key[0]])
            elif state is None:
                color[nxt] = 1
                path.append(nxt)
                iters.append(iter(graph.get(nxt, [])))
    return cycles


def anchor_order(plan: Plan) -> list[str]:
    """Milestone ids ordered so that every date anchor (``after``/``before`` milestone, a
    recurring series' ``until``) comes before the milestones hanging on it. Anchors in a
    cycle or unknown are left out of the ordering constraints (validation reports them)."""
    ids = {m.id for m in plan.milestones}
    anchors: dict[str, list[str]] = {}
    for m in plan.milestones:
        found: list[str] = []
        try:
            spec = m.due_spec
        except ValueError:
            spec = None
        if spec is not None and spec.kind in ("after", "before") and spec.anchor in ids:
            found.append(spec.anchor)  # type: ignore[arg-type]
        if m.recurring is not None and m.recurring.until in ids:
            found.append(m.recurring.until)
        anchors.setdefault(m.id, []).extend(found)
    order: list[str] = []
    color: dict[str, int] = {}
    for root in anchors:
        if root in color:
            continue
        color[root] = 1
        stack = [(root, iter(anchors[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                color[node] = 2
                order.append(node)
            elif nxt not in color:
                color[nxt] = 1
                stack.append((nxt, iter(anchors.get(nxt, []))))
    return order


def _static_dates(plan: Plan) -> dict[str, date]:
    """Dates that follow from absolute dates alone (no rollout needed)."""
    by_id = {m.id: m for m in plan.milestones}
    out: dict[str, date] = {}
    for mid in anchor_order(plan):
        if by_id[mid].recurring is not None:  # its date is its last occurrence
            continue
        try:
            spec = by_id[mid].due_spec
        except ValueError:
            continue
        if spec.kind == "absolute":
            out[mid] = spec.absolute  # type: ignore[assignment]
        elif spec.kind in ("after", "before") and spec.anchor in out:
            out[mid] = spec.apply(out[spec.anchor])  # type: ignore[index]
    return out


def check_plan(plan: Plan, lines: LineMap | None = None) -> list[Problem]:
    """Every cross-reference problem of an already-parsed plan (empty when it is sound)."""
    lm = lines or LineMap("plan")
    problems: list[Problem] = []
    first_at: dict[str, int] = {}
    phase_ids = {p.id for p in plan.phases}
    seen_phase: set[str] = set()
    for i, p in enumerate(plan.phases):
        if p.id in seen_phase:
            problems.append(lm.problem(("phases", i, "id"), f"duplicate phase id '{p.id}'"))
        seen_phase.add(p.id)

    for i, m in enumerate(plan.milestones):
        if m.id in first_at:
            first = lm.line(("milestones", first_at[m.id]))
            problems.append(
                lm.problem(
                    ("milestones", i, "id"),
                    f"duplicate milestone id '{m.id}' "
                    f"(first defined at milestones[{first_at[m.id]}]"
                    + (f", line {first})" if first else ")"),
                )
            )
        else:
            first_at[m.id] = i
    ids = set(first_at)

    def unknown(word: str) -> str:
        near = near_matches(word, sorted(ids))
        return f"unknown milestone '{word}'" + (
            f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
        )

    for name, gate in plan.gates.items():
        if not gate.has_conditions:
            problems.append(
                lm.problem(
                    ("gates", name),
                    "gate has no condition (give stages, areas, functions, organisations or "
                    "all_live); an empty gate would always be open",
                )
            )

    deps: dict[str, list[str]] = {}
    anchors: dict[str, list[str]] = {}
    for i, m in enumerate(plan.milestones):
        here = ("milestones", i)
        if m.id not in deps:
            deps[m.id], anchors[m.id] = [], []
        for j, d in enumerate(m.depends_on):
            if d not in ids:
                problems.append(lm.problem((*here, "depends_on", j), unknown(d)))
            else:
                deps[m.id].append(d)
        spec = m.due_spec
        if spec.anchor is not None and spec.kind in ("after", "before"):
            if spec.anchor not in ids:
                problems.append(
                    lm.problem((*here, "due"), f"cannot resolve '{m.due}': {unknown(spec.anchor)}")
                )
            else:
                anchors[m.id].append(spec.anchor)
        if m.recurring is not None:
            until = m.recurring.until
            if until == m.id:
                problems.append(
                    lm.problem(
                        (*here, "recurring", "until"), "a recurring milestone cannot end at itself"
                    )
                )
            elif until not in ids:
                problems.append(lm.problem((*here, "recurring", "until"), unknown(until)))
            else:
                anchors[m.id].append(until)
        if m.gate is not None and m.gate not in plan.gates:
            near = near_matches(m.gate, sorted(plan.gates))
            problems.append(
                lm.problem(
                    (*here, "gate"),
                    f"unknown gate '{m.gate}'"
                    + (
                        f" (did you mean {', '.join(repr(n) for n in near)}?)"
                        if near
                        else f" (known gates: {', '.join(sorted(plan.gates)) or 'none'})"
                    ),
                )
            )
        if m.irreversible and m.gate is None:
            problems.append(
                lm.problem(
                    (*here, "irreversible"),
                    f"milestone '{m.id}' is irreversible but has no gate; nothing that cannot be "
                    "undone may run without a gate on the successor's rollout",
                )
            )
        if m.phase is not None and m.phase not in phase_ids:
            problems.append(
                lm.problem(
                    (*here, "phase"),
                    f"unknown phase '{m.phase}' (known: {', '.join(sorted(phase_ids)) or 'none'})",
                )
            )

    for cycle in _find_cycles(deps):
        idx = first_at[cycle[0]]
        problems.append(
            lm.problem(("milestones", idx, "depends_on"), "dependency cycle: " + " → ".join(cycle))
        )
    for cycle in _find_cycles(anchors):
        idx = first_at[cycle[0]]
        problems.append(
            lm.problem(
                ("milestones", idx, "due"),
                "unresolvable relative date: the dates hang on each other in a cycle: "
                + " → ".join(cycle),
            )
        )

    # impossible orderings that are visible without the rollout
    static = _static_dates(plan)
    for i, m in enumerate(plan.milestones):
        if first_at.get(m.id) != i or m.id not in static:
            continue
        for d in m.depends_on:
            if d in static and static[d] > static[m.id]:
                problems.append(
                    lm.problem(
                        ("milestones", i, "due"),
                        f"impossible date: due {static[m.id]} but it depends on '{d}', due "
                        f"{static[d]}",
                    )
                )
        spec = m.due_spec
        if spec.kind == "before" and spec.anchor in m.depends_on:
            problems.append(
                lm.problem(
                    ("milestones", i, "due"),
                    f"impossible date: due before '{spec.anchor}', which it depends on",
                )
            )

    b = plan.budget
    for year, (low, high) in b.frames_percent.items():
        if low > high:
            problems.append(
                lm.problem(
                    ("budget", "frames_percent", str(year)), f"frame {low}-{high} % runs backwards"
                )
            )
        if year not in b.total_per_year_sek:
            problems.append(
                lm.problem(
                    ("budget", "frames_percent", str(year)), f"no total_per_year_sek for {year}"
                )
            )
    return problems


# -- loading -----------------------------------------------------------------------------


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


__all__ = [
    "AREA_NAMES",
    "Budget",
    "DueSpec",
    "Gate",
    "Milestone",
    "Phase",
    "Plan",
    "Recurring",
    "Workstream",
    "check_plan",
    "load_plan",
    "load_plan_text",
    "near_matches",
    "parse_due",
    "shift",
]
