"""The schedule: every milestone's date, computed from its anchors and the successor's rollout.

**The transition date** is the day the successor covers all of SAMSA's functions in every
area, i.e. the latest go-live of all stages. Each stage contributes:

- *live*: its actual go-live date;
- *planned*: its planned date; once that has passed without a go-live, ``as_of`` (it is late
  and can at the earliest go live today, so the transition slips a day per day);
- *paused*: ``max(planned, as_of + restart_notice_days)``: a paused rollout needs the vendor's
  restart notice (120 days by default, ``restart_notice_days`` in the rollout data);
- *cancelled*: nobody knows; it is treated like a paused stage (``as_of`` + restart notice)
  and ``transition_confirmed`` is False with a reason.

``transition_confirmed`` is True only when every stage is live or planned on a date still
ahead; a paused, late or cancelled stage makes the transition a projection that moves with
every day that passes. A slip of the transition moves every date that hangs on it.

**An area's date** (``area south + 30d``) is the latest projected go-live among the stages
covering that area and its counterparties (the rollout's ``counterparties``: patients cross
areas, so an area leaves SAMSA only with the parties it exchanges with), by the same rule; an
area no stage covers falls back to the transition date, with a warning.

Relative dates: ``transition + 90d``; ``after X + 14d`` = X's due + 14 days, or X's real
completion date + 14 days when ``done_dates`` has one; ``before X - 30d`` = X's due (or
completion) − 30 days.

Recurring milestones: occurrences on ``day`` of each month from the milestone's own due date
until the ``until`` milestone's due (or completion) date; ``due`` of a recurring milestone is
its *last* occurrence (the series is complete then); use :meth:`Schedule.next_occurrence`.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from models.clock import local_day
from models.plan import Milestone, Plan, anchor_order
from models.rollout import Rollout, StageStatus

#: A recurring series is capped so that a runaway ``until`` cannot produce endless dates.
MAX_OCCURRENCES = 240


@dataclass(frozen=True)
class StageProjection:
    """How one stage counts toward the transition date."""

    stage_id: str
    status: StageStatus
    date: date
    basis: str  # "actual", "planned", "late", "restart-notice", "unknown"


@dataclass
class Schedule:
    """Computed dates for one plan, rollout and day (``as_of``)."""

    as_of: date
    transition: date
    transition_confirmed: bool
    transition_reasons: list[str]
    due: dict[str, date]
    occurrences: dict[str, list[date]] = field(default_factory=dict)
    stages: list[StageProjection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    areas: dict[str, date] = field(default_factory=dict)
    #: Milestones whose date hangs on a projection (a transition or area date that a paused,
    #: late or cancelled stage keeps moving): no such date can be overdue, and people outside
    #: the project are not told it until it is confirmed.
    projected: frozenset[str] = frozenset()

    def next_occurrence(self, milestone_id: str, on_or_after: date | None = None) -> date | None:
        """The next occurrence of a recurring milestone on or after a day (default as_of)."""
        day = on_or_after or self.as_of
        return next((d for d in self.occurrences.get(milestone_id, []) if d >= day), None)


@dataclass(frozen=True)
class DateChange:
    """A milestone whose date moved between two schedules (None: added or removed)."""

    milestone_id: str
    old: date | None
    new: date | None

    @property
    def days(self) -> int | None:
        """How many days later (positive) or earlier (negative) it now is."""
        if self.old is None or self.new is None:
            return None
        return (self.new - self.old).days


_TEXTS: dict[str, dict[str, str]] = {
    "no_stages": {
        "sv": "utrullningen har inga etapper; övergången är okänd",
        "en": "the rollout has no stages; the transition is unknown",
    },
    "late": {
        "sv": "{name}: planerad {planned}, ännu inte i drift; antas tidigast {when}",
        "en": "{name}: planned {planned}, not live yet; assumed {when} at the earliest",
    },
    "paused": {
        "sv": "{name}: pausad sedan {paused}; omstart kräver {notice} dagars varsel, "
        "tidigast {when}",
        "en": "{name}: paused since {paused}; a restart needs {notice} days' notice, "
        "{when} at the earliest",
    },
    "cancelled": {
        "sv": "{name}: avbruten; ingen känd ersättning, övergången är okänd "
        "(antas tidigast {when})",
        "en": "{name}: cancelled; no known replacement, the transition is unknown "
        "(assumed {when} at the earliest)",
    },
    "no_area": {
        "sv": "'{mid}': ingen etapp omfattar området '{area}'; datumet följer övergången",
        "en": "'{mid}': no stage covers area '{area}'; its date follows the transition instead",
    },
    "before_dep": {
        "sv": "'{mid}' har datum {due} men beror på '{dep}' med datum {dep_due}",
        "en": "'{mid}' is due {due} but depends on '{dep}', due {dep_due}",
    },
}


def _text(key: str, lang: str, **kw: object) -> str:
    return _TEXTS[key].get(lang, _TEXTS[key]["sv"]).format(**kw)


def compute_transition(
    rollout: Rollout, as_of: date, lang: str = "sv"
) -> tuple[date, bool, list[str], list[StageProjection]]:
    """(transition date, confirmed, reasons, per-stage projections) by the module's rule."""
    notice = rollout.restart_notice_days
    projections: list[StageProjection] = []
    reasons: list[str] = []
    confirmed = True
    if not rollout.stages:
        return as_of, False, [_text("no_stages", lang)], []
    for s in rollout.stages:
        when = s.projected_go_live(as_of, notice)
        if s.status is StageStatus.live and s.live_since is not None:
            basis = "actual" if s.live_since <= as_of else "planned"
        elif s.status is StageStatus.planned:
            basis = "planned" if (s.planned_go_live or as_of) >= as_of else "late"
            if basis == "late":
                confirmed = False
                reasons.append(
                    _text("late", lang, name=s.name, planned=s.planned_go_live, when=when)
                )
        elif s.status is StageStatus.paused:
            basis = "restart-notice"
            confirmed = False
            reasons.append(
                _text("paused", lang, name=s.name, paused=s.paused_on, notice=notice, when=when)
            )
        else:
            basis = "unknown"
            confirmed = False
            reasons.append(_text("cancelled", lang, name=s.name, when=when))
        projections.append(StageProjection(s.id, s.status, when, basis))
    transition = max(p.date for p in projections)
    return transition, confirmed, reasons, projections


def _occurrences(start: date, end: date, day: int) -> list[date]:
    out: list[date] = []
    year, month = start.year, start.month
    if start.day > day:
        month += 1
    while len(out) < MAX_OCCURRENCES:
        if month > 12:
            year, month = year + 1, month - 12
        d = date(year, month, min(day, calendar.monthrange(year, month)[1]))
        if d > end:
            break
        out.append(d)
        month += 1
    return out


class _Recorded(Protocol):
    """What :func:`completion_days` needs of a ledger milestone record."""

    @property
    def state(self) -> Any: ...

    @property
    def updated_at(self) -> datetime | None: ...


def completion_day(record: _Recorded, zone: str) -> date | None:
    """The day a milestone was completed, in the project's time zone; None if not done.

    This is the one answer to "when was it done", used by the reconciler, the notices,
    ``samsa-decom plan`` and ``status``: the local calendar day (``zone``) of the moment
    the ledger moved the milestone to ``done`` (its record's ``updated_at``, UTC). A step
    done at 00:30 in Stockholm counts on that Stockholm day, not on the UTC day before.
    """
    if getattr(record.state, "value", record.state) != "done" or record.updated_at is None:
        return None
    return local_day(record.updated_at, zone)


def completion_days(
    records: Mapping[str, _Recorded], zone: str, as_of: date | None = None
) -> dict[str, date]:
    """Milestone id → completion day (see :func:`completion_day`) for every done milestone.

    With ``as_of``, a day after it is taken as ``as_of``: a run acting as an earlier day (a
    rehearsal or a catch-up) sees what it completes as done on that day.
    """
    out: dict[str, date] = {}
    for mid, rec in records.items():
        day = completion_day(rec, zone)
        if day is not None:
            out[mid] = min(day, as_of) if as_of is not None else day
    return out


def compute_schedule(
    plan: Plan,
    rollout: Rollout,
    as_of: date,
    done_dates: dict[str, date] | None = None,
    lang: str = "sv",
) -> Schedule:
    """Every milestone's date on ``as_of``; ``done_dates`` are real completion dates.

    ``lang`` ("sv" or "en") is the language of ``transition_reasons`` and ``warnings``.

    The plan must be valid (see :func:`models.plan.load_plan`): anchors exist and form no
    cycle. Dates that still cannot be resolved raise ValueError naming the milestone.
    """
    done = done_dates or {}
    transition, confirmed, reasons, projections = compute_transition(rollout, as_of, lang)
    projected = {p.stage_id: p.date for p in projections}
    firm_stage = {p.stage_id: p.basis in ("actual", "planned") for p in projections}
    areas: dict[str, date] = {}
    firm_area: dict[str, bool] = {}
    for area in rollout.areas:
        leaving = rollout.stages_leaving(area)  # its own stages and its counterparties'
        areas[area] = max(projected[s.id] for s in leaving)
        firm_area[area] = all(firm_stage[s.id] for s in leaving)
    hangs_on_projection: set[str] = set()
    warnings: list[str] = []
    by_id: dict[str, Milestone] = {m.id: m for m in plan.milestones}
    due: dict[str, date] = {}
    occurrences: dict[str, list[date]] = {}

    def anchor_date(mid: str) -> date:
        if mid in done:
            return done[mid]
        if mid not in due:
            raise ValueError(
                f"cannot resolve a date anchored on '{mid}': unknown milestone or a cycle "
                "(validate the plan with load_plan)"
            )
        return due[mid]

    for mid in anchor_order(plan):
        m = by_id[mid]
        spec = m.due_spec
        if spec.kind == "absolute":
            assert spec.absolute is not None
            start = spec.absolute
        elif spec.kind == "transition":
            start = spec.apply(transition)
            if not confirmed:
                hangs_on_projection.add(mid)
        elif spec.kind == "area":
            assert spec.anchor is not None
            if spec.anchor not in areas:
                warnings.append(_text("no_area", lang, mid=mid, area=spec.anchor))
            start = spec.apply(areas.get(spec.anchor, transition))
            if not firm_area.get(spec.anchor, confirmed):
                hangs_on_projection.add(mid)
        else:
            assert spec.anchor is not None
            start = spec.apply(anchor_date(spec.anchor))
            if spec.anchor not in done and spec.anchor in hangs_on_projection:
                hangs_on_projection.add(mid)
        if m.recurring is not None:
            occ = _occurrences(start, anchor_date(m.recurring.until), m.recurring.day)
            occurrences[mid] = occ
            due[mid] = occ[-1] if occ else start
        else:
            due[mid] = start

    for m in plan.milestones:
        for d in m.depends_on:
            if d in due and due[d] > due[m.id] and m.recurring is None:
                warnings.append(
                    _text("before_dep", lang, mid=m.id, due=due[m.id], dep=d, dep_due=due[d])
                )
    return Schedule(
        as_of=as_of,
        transition=transition,
        transition_confirmed=confirmed,
        transition_reasons=reasons,
        due={m.id: due[m.id] for m in plan.milestones},
        occurrences=occurrences,
        stages=projections,
        warnings=warnings,
        areas=areas,
        projected=frozenset(m for m in hangs_on_projection if m not in done),
    )


def schedule_changes(
    old: Schedule | Mapping[str, date], new: Schedule | Mapping[str, date]
) -> list[DateChange]:
    """Milestones whose date differs between two schedules, in the new schedule's order.

    Either side may also be a plain ``{milestone id: date}`` mapping, e.g. the due dates the
    ledger remembers from the last run."""
    old_due = old.due if isinstance(old, Schedule) else old
    new_due = new.due if isinstance(new, Schedule) else new
    changes: list[DateChange] = []
    for mid, new_date in new_due.items():
        old_date = old_due.get(mid)
        if old_date != new_date:
            changes.append(DateChange(mid, old_date, new_date))
    for mid, old_date in old_due.items():
        if mid not in new_due:
            changes.append(DateChange(mid, old_date, None))
    return changes


# -- the budget view ---------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetYear:
    """One year's summed cost estimates against the budget frame."""

    year: int
    estimate_sek: int
    frame_low_sek: float | None
    frame_high_sek: float | None
    frame_percent: tuple[float, float] | None

    @property
    def verdict(self) -> str:
        """``within``, ``over``, ``under`` the frame, or ``no-frame``."""
        if self.frame_low_sek is None or self.frame_high_sek is None:
            return "no-frame"
        if self.estimate_sek > self.frame_high_sek:
            return "over"
        if self.estimate_sek < self.frame_low_sek:
            return "under"
        return "within"


def budget_by_year(plan: Plan, schedule: Schedule) -> list[BudgetYear]:
    """Each year's cost estimates (by due date; per occurrence for recurring milestones)
    against the plan's frame. Years with a frame but no cost are listed too."""
    totals: dict[int, int] = defaultdict(int)
    for m in plan.milestones:
        if not m.cost_estimate:
            continue
        dates = schedule.occurrences.get(m.id) if m.recurring else [schedule.due[m.id]]
        for d in dates or []:
            totals[d.year] += m.cost_estimate
    years = sorted(set(totals) | set(plan.budget.frames_percent))
    out: list[BudgetYear] = []
    for y in years:
        frame = plan.budget.frame_sek(y)
        out.append(
            BudgetYear(
                year=y,
                estimate_sek=totals.get(y, 0),
                frame_low_sek=frame[0] if frame else None,
                frame_high_sek=frame[1] if frame else None,
                frame_percent=plan.budget.frames_percent.get(y),
            )
        )
    return out


@dataclass(frozen=True)
class ParallelRun:
    """What the transition's slip beyond the rollout's plan costs in parallel running."""

    planned_transition: date  # the latest planned go-live of the rollout's stages
    slip_months: int  # whole months (started) the transition lies beyond it; 0 on time
    per_month_sek: int

    @property
    def cost_sek(self) -> int:
        return self.slip_months * self.per_month_sek


def parallel_run(plan: Plan, rollout: Rollout, schedule: Schedule) -> ParallelRun | None:
    """The cost of prolonged parallel running: each started month that the (projected)
    transition lies beyond the rollout's planned last go-live costs the plan's
    ``budget.parallel_run_cost_per_month_sek``. None without that figure or a planned date."""
    monthly = plan.budget.parallel_run_cost_per_month_sek
    planned = [s.planned_go_live for s in rollout.stages if s.planned_go_live is not None]
    if not monthly or not planned:
        return None
    start = max(planned)
    days = max(0, (schedule.transition - start).days)
    return ParallelRun(start, -(-days * 12 // 365), monthly)


__all__ = [
    "BudgetYear",
    "ParallelRun",
    "DateChange",
    "Schedule",
    "StageProjection",
    "budget_by_year",
    "compute_schedule",
    "compute_transition",
    "parallel_run",
    "schedule_changes",
]
