"""The plan's models: phases, workstreams, milestones, gates and the budget frame.

A :class:`Plan` holds :class:`Phase` s, named :class:`Gate` s (what the successor's rollout
must cover before a milestone may run), the :class:`Budget` frame and the
:class:`Milestone` s: who owns each, which workstream it belongs to, when it is due (a date
expression, see :mod:`models.plan.due`), what it depends on, which gate guards it, whether it
can be undone, which action carries it out and who is told. A :class:`Recurring` milestone
repeats monthly until another milestone. A date or offset that the strategy does not give
carries an ``assumption`` (why this date), shown wherever the date is.

Every model is frozen and refuses unknown keys. A single model checks only itself; the
cross-references between them (unknown ids, cycles, impossible dates) are
:func:`models.plan.check.check_plan`'s work, and :func:`models.plan.load.load_plan` builds a
validated plan from its YAML file.
"""

from __future__ import annotations

import enum
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.plan.due import Area, DueSpec, parse_due, parse_due_cached

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"


class Workstream(enum.StrEnum):
    """The six workstreams of the phase-out."""

    archive = "archive"
    extracts = "extracts"
    integrations = "integrations"
    statistics = "statistics"
    routines = "routines"  # routines and communication
    security = "security"


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
    assumption: str = Field(
        "", description="Why this date or offset, when the strategy does not give it (Swedish)."
    )
    depends_on: list[str] = Field(default_factory=list)
    gate: str | None = None
    irreversible: bool = False
    action: str = Field("manual", pattern=ID_PATTERN)
    action_params: dict[str, Any] = Field(default_factory=dict)
    notify: list[str] = Field(default_factory=list)
    approver_channel: str | None = Field(
        None,
        description="The notify tag of the approver's own channel (e.g. `godkannare-drift`): "
        "the one-time code for a decision on this milestone is sent there and nowhere else. "
        "Required for an irreversible milestone.",
    )
    disposal: bool = Field(
        False,
        description="The step carries out a disposal decision (gallringsbeslut): its approval "
        "must name the decision's diarienummer.",
    )
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

    @field_validator("approver_channel")
    @classmethod
    def _approver_tag(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", v):
            raise ValueError(f"approver_channel '{v}' is a notify tag: only letters, digits, "
                             "- _ .")
        if v == "always":
            raise ValueError("approver_channel 'always' reaches every channel: name the "
                             "approver's own tag")
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
        return parse_due_cached(self.due)


class Budget(_Strict):
    """The yearly budget frame: SAMSA's total budget and the development share allowed."""

    total_per_year_sek: dict[int, int] = Field(default_factory=dict)
    frames_percent: dict[int, tuple[float, float]] = Field(default_factory=dict)
    note: str = ""
    #: what each month of prolonged parallel running (SAMSA kept alive while the transition
    #: slips) costs, and on what that figure rests
    parallel_run_cost_per_month_sek: int | None = Field(default=None, ge=0)
    parallel_run_assumption: str = ""

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
