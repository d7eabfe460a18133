"""The successor's rollout: which stages cover which areas, organisations and SAMSA functions,
and whether each is planned, live, paused or cancelled.

The rollout is data that changes (the Millennium rollout went live in the southern area on
2024-11-12 and was paused three days later), so it is read fresh from one of three sources,
all giving the same validated :class:`Rollout` (reading them is the edge's work:
:func:`tasks.rollout_source.load_rollout`). Here: the models, :func:`parse_rollout` for plain
data and :func:`rollout_from_yaml_text` for YAML text, problems named by ``file:line``.
"""

from __future__ import annotations

import enum
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.errors import Problem, ValidationFailed
from models.plan import AREA_NAMES, ID_PATTERN, Area
from models.yamlsource import LineMap, problems_from_pydantic, read_yaml

#: Default notice the vendor needs before a paused rollout restarts (the formal pause of
#: February 2025 requires at least four months).
DEFAULT_RESTART_NOTICE_DAYS = 120


class StageStatus(enum.StrEnum):
    """Where a rollout stage stands."""

    planned = "planned"
    live = "live"
    paused = "paused"
    cancelled = "cancelled"


class Stage(BaseModel):
    """One stage of the successor's rollout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(..., pattern=ID_PATTERN)
    name: str = Field(..., min_length=1, description="Swedish name shown to people.")
    areas: list[Area] = Field(..., min_length=1)
    organisations: list[str] = Field(default_factory=list)
    functions: list[str] = Field(default_factory=list)
    planned_go_live: date | None = None
    actual_go_live: date | None = None
    status: StageStatus = StageStatus.planned
    paused_on: date | None = None
    resumed_on: date | None = Field(
        default=None,
        description="The day a stage that was paused after going live went live again; its "
        "days live count from then, not from its first go-live.",
    )
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Stage:
        if self.status is StageStatus.live and self.actual_go_live is None:
            raise ValueError("status 'live' needs actual_go_live (the date it went live)")
        if self.status is StageStatus.paused and self.paused_on is None:
            raise ValueError("status 'paused' needs paused_on (the date it was paused)")
        if self.status is StageStatus.planned and self.planned_go_live is None:
            raise ValueError("status 'planned' needs planned_go_live")
        if (
            self.paused_on
            and self.actual_go_live
            and self.paused_on < self.actual_go_live
            and self.status is StageStatus.paused
        ):
            raise ValueError(
                f"impossible dates: paused_on {self.paused_on} is before "
                f"actual_go_live {self.actual_go_live}"
            )
        if self.resumed_on is not None:
            if self.paused_on is None or self.resumed_on < self.paused_on:
                raise ValueError(
                    f"resumed_on {self.resumed_on} needs an earlier paused_on "
                    "(the day the stage was paused)"
                )
            if self.status is StageStatus.paused:
                raise ValueError("a stage with resumed_on is live again: set status 'live'")
        elif (
            self.status is StageStatus.live
            and self.paused_on is not None
            and self.actual_go_live is not None
            and self.paused_on >= self.actual_go_live
        ):
            raise ValueError(
                f"live again after the pause on {self.paused_on}: set resumed_on (the day it "
                "went live again); days live count from then"
            )
        return self

    @property
    def live_since(self) -> date | None:
        """The day this stage's current time live began: its resumption, else its go-live."""
        return self.resumed_on or self.actual_go_live

    def is_live(self, as_of: date) -> bool:
        """Live on ``as_of`` (status live and go-live date reached)."""
        since = self.live_since
        return self.status is StageStatus.live and since is not None and since <= as_of

    def live_days(self, as_of: date) -> int:
        """Days live without a break as of ``as_of`` (0 when not live): counted from
        :attr:`live_since`, so a resumed stage starts again from its resumption."""
        since = self.live_since
        if not self.is_live(as_of) or since is None:
            return 0
        return (as_of - since).days

    def projected_go_live(self, as_of: date, restart_notice_days: int) -> date:
        """When this stage can be expected to be live (the rule of :mod:`models.schedule`).

        live: its actual go-live. planned: the planned date, or ``as_of`` once that has passed
        (it is late, and can at the earliest go live today). paused or cancelled: the planned
        date, but never before ``as_of`` + the restart notice.
        """
        if self.status is StageStatus.live and self.live_since is not None:
            return self.live_since
        planned = self.planned_go_live or as_of
        if self.status is StageStatus.planned:
            return max(planned, as_of)
        return max(planned, as_of + timedelta(days=restart_notice_days))


class Counterparty(BaseModel):
    """A party that sends SAMSA messages to an area or receives them from it, from outside the
    area: a hospital in another area that discharges the area's residents, or the
    municipalities a regional hospital notifies. The area may leave SAMSA only when every
    counterparty is covered by the successor too (:func:`tasks.gates.evaluate_gate`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation: str | None = Field(None, description="An organisation named in a stage.")
    area: Area | None = Field(None, description="Every organisation of another area.")
    exchange: str = Field(
        ..., min_length=1, description="What flows between them, in Swedish (shown in reasons)."
    )

    @model_validator(mode="after")
    def _one_party(self) -> Counterparty:
        if (self.organisation is None) == (self.area is None):
            raise ValueError("a counterparty names either `organisation` or `area`")
        return self

    @property
    def party(self) -> str:
        return self.organisation or f"area:{self.area}"


class Rollout(BaseModel):
    """The successor's rollout: its stages and the SAMSA functions they must take over."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = "Millennium"
    updated: date | None = Field(None, description="When this status was last checked.")
    restart_notice_days: int = Field(DEFAULT_RESTART_NOTICE_DAYS, ge=0)
    functions: dict[str, str] = Field(
        default_factory=dict, description="SAMSA function id → Swedish name."
    )
    stages: list[Stage] = Field(default_factory=list)
    counterparties: dict[Area, list[Counterparty]] = Field(
        default_factory=dict,
        description="Per area, the parties outside it that SAMSA messages flow to or from.",
    )
    note: str = ""
    source: str = Field("", description="Where this was read from (set by parse_rollout).")

    @model_validator(mode="after")
    def _references(self) -> Rollout:
        seen: set[str] = set()
        problems: list[str] = []
        for i, s in enumerate(self.stages):
            if s.id in seen:
                problems.append(f"stages[{i}].id: duplicate stage id '{s.id}'")
            seen.add(s.id)
            if self.functions:
                for f in s.functions:
                    if f not in self.functions:
                        problems.append(
                            f"stages[{i}].functions: unknown function '{f}' (known: "
                            f"{', '.join(self.functions)})"
                        )
        named = {o for s in self.stages for o in s.organisations}
        for area, parties in self.counterparties.items():
            for i, cp in enumerate(parties):
                if cp.organisation is not None and cp.organisation not in named:
                    problems.append(
                        f"counterparties.{area}[{i}].organisation: '{cp.organisation}' is in no "
                        "stage's organisations"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def digest(self) -> str:
        """SHA-256 of this rollout's content (canonical JSON): which data a decision relied
        on, recorded in the audit entry of every irreversible step."""
        import hashlib

        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def stages_in(self, area: str) -> list[Stage]:
        return [s for s in self.stages if area in s.areas]

    def counterparty_stages(self, area: str) -> list[Stage]:
        """The stages that cover the counterparties of ``area`` (the stages naming a
        counterparty organisation, and every stage of a counterparty area)."""
        out: list[Stage] = []
        for cp in self.counterparties.get(area, []):  # type: ignore[call-overload]
            if cp.area is not None:
                found = self.stages_in(cp.area)
            else:
                found = [s for s in self.stages if cp.organisation in s.organisations]
            out += [s for s in found if s not in out]
        return out

    def stages_leaving(self, area: str) -> list[Stage]:
        """The stages that must be live before ``area`` can leave SAMSA: its own and those
        of its counterparties (patients cross areas)."""
        own = self.stages_in(area)
        return own + [s for s in self.counterparty_stages(area) if s not in own]

    @property
    def areas(self) -> list[str]:
        """The areas the rollout's stages cover, in the usual order."""
        covered = {a for s in self.stages for a in s.areas}
        return [a for a in AREA_NAMES if a in covered]

    def function_name(self, function_id: str) -> str:
        return self.functions.get(function_id, function_id)


# -- loading -----------------------------------------------------------------------------


def _cross_check(data: dict[str, Any], lines: LineMap) -> list[Problem]:
    """Cross-reference problems with their lines (duplicate stages, unknown functions)."""
    problems: list[Problem] = []
    functions = data.get("functions") if isinstance(data.get("functions"), dict) else {}
    seen: dict[str, int] = {}
    for i, s in enumerate(data.get("stages") or []):
        if not isinstance(s, dict):
            continue
        sid = s.get("id")
        if isinstance(sid, str):
            if sid in seen:
                problems.append(
                    lines.problem(
                        ("stages", i, "id"),
                        f"duplicate stage id '{sid}' (first at stages[{seen[sid]}])",
                    )
                )
            else:
                seen[sid] = i
        if functions:
            for j, f in enumerate(s.get("functions") or []):
                if f not in functions:
                    problems.append(
                        lines.problem(
                            ("stages", i, "functions", j),
                            f"unknown function '{f}' (known: {', '.join(map(str, functions))})",
                        )
                    )
    return problems


def parse_rollout(data: Any, lines: LineMap) -> Rollout:
    """Validate plain data into a Rollout; ValidationFailed lists every problem."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            lines.source, [Problem(lines.where(()), "rollout data must be a mapping")]
        )
    problems = _cross_check(data, lines)
    data = {**data, "source": lines.source}
    try:
        rollout = Rollout.model_validate(data)
    except ValidationError as exc:
        for p in problems_from_pydantic(exc, lines):
            # the model's own cross-check repeats what _cross_check located better
            if "duplicate stage id" in p.message or "unknown function" in p.message:
                continue
            problems.append(p)
        raise ValidationFailed(lines.source, problems) from None
    if problems:
        raise ValidationFailed(lines.source, problems)
    return rollout


def rollout_from_yaml_text(text: str, source: str = "rollout.yaml") -> Rollout:
    data, lines, problems = read_yaml(text, source)
    if problems:
        extra: list[Problem] = []
        if data is not None:
            try:
                parse_rollout(data, lines)
            except ValidationFailed as exc:
                extra = exc.problems
        raise ValidationFailed(source, problems + extra)
    return parse_rollout(data, lines)


def rollout_to_data(rollout: Rollout) -> dict[str, Any]:
    """Plain JSON-able data (for a Prefect Variable or an HTTP answer)."""
    return rollout.model_dump(mode="json", exclude={"source"})


__all__ = [
    "DEFAULT_RESTART_NOTICE_DAYS",
    "Counterparty",
    "Rollout",
    "Stage",
    "StageStatus",
    "parse_rollout",
    "rollout_from_yaml_text",
    "rollout_to_data",
]
