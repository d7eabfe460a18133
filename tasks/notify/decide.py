"""Which notices are due today: a pure decision, no ledger and no network.

:func:`decide_notices` takes what is known about each milestone (:class:`MilestoneView`: due
date, gate verdict, ledger state), the previous run's :class:`Snapshot`, deadlines from
:class:`DeadlineProvider` s, a :class:`NotifyPolicy` and the day, and returns
:class:`Notice` s. A notice's ``key`` names *what* it is about, so deciding again on the
same day (or the next) gives the same keys:

- ``due:<milestone>:<threshold>:<announced date>`` - the tightest threshold (30, 14, 7, 1 by
  default; 0 is the day itself) that the days left have reached. A run that missed days
  catches up with one notice, not a burst. An announced move (see :func:`announced_due`)
  makes new keys: a slip re-arms every reminder.
- ``overdue:<milestone>:<n>:<announced date>`` - the n-th overdue reminder (day 1, 1+N,
  1+2N…); from M days late it also goes to the escalation tag.

A *projected* milestone (its date hangs on a transition that a paused or late stage keeps
moving, ``Schedule.projected``) is never overdue nor escalated, and its notices go only to
the project's own tags (not ``NotifyPolicy.external_tags``), its date marked "prognos".
- ``slip:<milestone>:<old>:<new>`` - once per announced move (of at least ``slip_min_days``);
  when several milestones of one tag move in the same run, one ``slips:<hash of the moves>``
  notice lists them all, old and new date side by side.
- ``gate:<gate>:<open|closed>:<day>`` - when a gate's verdict changes, one notice per gate.
- ``wait:<milestone>:<since>:<n>`` - a decision waits (and every N days while it waits).
- ``deadline:<provider key>:<threshold>:<due date>`` - deadlines of other areas.

The views come from the day's state (:func:`gather_views` over
:class:`tasks.phaseout.day.Day`); the words of each notice from :mod:`tasks.notify.words`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from models.errors import InputError
from tasks.notify import words as txt

if TYPE_CHECKING:
    from models.settings import Settings
    from tasks.phaseout.day import Day

Lang = Literal["sv", "en"]


@dataclass(frozen=True)
class Notice:
    """One message to one recipient tag. ``key`` + ``tag`` identify it forever."""

    key: str
    tag: str
    subject: str
    body: str
    lang: Lang = "sv"
    kind: str = "adhoc"


@dataclass(frozen=True)
class MilestoneView:
    """What the decision needs to know about one milestone (built from plan, schedule, gate
    verdict and ledger state by :func:`milestone_views`)."""

    id: str
    title: str
    owner: str = ""
    tags: tuple[str, ...] = ()
    due: date | None = None
    final: bool = False  # done or skipped in the ledger: nothing more to say
    waiting_since: date | None = None  # awaiting_approval in the ledger since this day
    wait_kind: Literal["approval", "confirmation"] = "approval"
    flow_run_id: str | None = None  # the run that waits, for the link
    gate: str | None = None
    gate_open: bool = True
    gate_reasons: tuple[str, ...] = ()
    #: the date hangs on a projection (``Schedule.projected``): never overdue, and people
    #: outside the project are not told it until it is confirmed
    projected: bool = False

    def words(self) -> txt.MilestoneWords:
        return txt.MilestoneWords(
            self.id, self.title, self.owner, self.due, self.gate, self.gate_open,
            self.gate_reasons, self.projected,
        )


@dataclass(frozen=True)
class Snapshot:
    """What the previous run saw for one milestone."""

    due: date | None
    gate: str | None
    gate_open: bool | None


@dataclass(frozen=True)
class Deadline:
    """A deadline another area tracks (a delivery receipt, a person's extract request).

    ``key`` is opaque and stable (e.g. ``receipt:ale-kommun``, ``extract-request:7f3a…``);
    ``title`` is readable and holds **no personal data**; ``tag`` is the apprise tag."""

    key: str
    title: str
    due: date
    tag: str


@runtime_checkable
class DeadlineProvider(Protocol):
    """Anything that lists deadlines to remind about. The composition root
    (``flows/wiring.py``) lists the providers a notify run asks."""

    def deadlines(self, as_of: date) -> Iterable[Deadline]: ...


@dataclass(frozen=True)
class NotifyPolicy:
    """When to remind, whom to escalate to, in which language, and where links point."""

    thresholds: tuple[int, ...] = (30, 14, 7, 1)
    overdue_every_days: int = 7
    escalate_after_days: int = 14
    escalation_tag: str = "eskalering"
    default_tag: str = "projektledning"
    slip_min_days: int = 14
    lang: Lang = "sv"
    ui_url: str = "http://127.0.0.1:4200"
    flow_run_id: str | None = None  # this notify run, when running under Prefect
    date_reasons: tuple[str, ...] = ()  # why dates are projections (the schedule's reasons)
    #: tags of people outside the project: told no date that is only a projection
    external_tags: tuple[str, ...] = ("municipalities", "users")
    timezone: str = "Europe/Stockholm"  # the days people see and rules count in

    def __post_init__(self) -> None:
        problems = [t for t in self.thresholds if t < 1]
        if problems:
            raise InputError(f"notify thresholds must be whole days >= 1, got {problems}")
        if self.overdue_every_days < 1:
            raise InputError("notify_overdue_every_days must be at least 1")
        if self.slip_min_days < 1:
            raise InputError("notify_slip_min_days must be at least 1")

    @classmethod
    def from_settings(cls, s: Settings, flow_run_id: str | None = None) -> NotifyPolicy:
        return cls(
            thresholds=tuple(s.notify_thresholds),
            overdue_every_days=s.notify_overdue_every_days,
            escalate_after_days=s.notify_escalate_after_days,
            escalation_tag=s.notify_escalation_tag,
            default_tag=s.notify_default_tag,
            slip_min_days=s.notify_slip_min_days,
            lang=s.language,
            ui_url=s.ui_url,
            flow_run_id=flow_run_id,
            timezone=s.timezone,
        )

    def link(self, flow_run_id: str | None = None) -> str:
        """The run this is about (or this notify run), else the deployments page."""
        run = flow_run_id or self.flow_run_id
        base = self.ui_url.rstrip("/")
        return f"{base}/runs/flow-run/{run}" if run else f"{base}/deployments"


def reminder_step(days_left: int, thresholds: Sequence[int]) -> int | None:
    """The threshold a reminder belongs to when ``days_left`` remain (0 = the day itself).

    The tightest threshold not below ``days_left``: with 30/14/7/1, 20 days left belongs to
    30, 7 days left to 7, 3 days left to 7. None when no threshold is reached yet."""
    if days_left == 0:
        return 0
    reached = [t for t in thresholds if t >= days_left]
    return min(reached) if reached else None


def _tags(m: MilestoneView, policy: NotifyPolicy) -> tuple[str, ...]:
    """Whom to tell about ``m``: its tags (or the default); for a projected date only the
    project's own tags, since people outside it hear of a date once it is confirmed."""
    tags = m.tags or (policy.default_tag,)
    if m.projected:
        return tuple(t for t in tags if t not in policy.external_tags)
    return tags


def decide_notices(
    milestones: Sequence[MilestoneView],
    previous: dict[str, Snapshot],
    as_of: date,
    policy: NotifyPolicy,
    deadlines: Sequence[Deadline] = (),
) -> list[Notice]:
    """Every notice that should exist on ``as_of`` (the outbox drops those already there)."""
    lang = policy.lang
    out: list[Notice] = []

    def add(key: str, tags: Iterable[str], kind: str, text: tuple[str, str]) -> None:
        for tag in dict.fromkeys(tags):
            out.append(Notice(key, tag, text[0], text[1], lang, kind))

    gate_changes: dict[tuple[str, bool], list[MilestoneView]] = {}
    moves: dict[str, list[tuple[MilestoneView, date, date]]] = {}  # tag -> (m, old, new)
    link = policy.link()
    for m in milestones:
        if m.final:
            continue
        tags = _tags(m, policy)
        before = previous.get(m.id)
        anchor = announced_due(m, before, policy)
        if before is not None and before.due is not None and m.due is not None:
            if anchor == m.due and before.due != m.due:
                for tag in tags:
                    moves.setdefault(tag, []).append((m, before.due, m.due))
        if m.due is not None and anchor is not None:
            left = (m.due - as_of).days
            if left >= 0:
                step = reminder_step(left, policy.thresholds)
                if step is not None:
                    key = f"due:{m.id}:{step}:{anchor.isoformat()}"
                    add(key, tags, "due", txt.due_text(m.words(), as_of, link, lang))
            elif not m.projected:  # a projected date moves with the days: never overdue
                over = -left
                n = (over - 1) // policy.overdue_every_days
                key = f"overdue:{m.id}:{n}:{anchor.isoformat()}"
                add(key, tags, "overdue", txt.overdue_text(m.words(), as_of, link, lang))
                if over >= policy.escalate_after_days and policy.escalation_tag not in tags:
                    add(
                        key,
                        [policy.escalation_tag],
                        "escalation",
                        txt.overdue_text(m.words(), as_of, link, lang, escalated=True),
                    )
        if (
            before is not None
            and m.gate is not None
            and before.gate == m.gate
            and before.gate_open is not None
            and before.gate_open != m.gate_open
        ):
            gate_changes.setdefault((m.gate, m.gate_open), []).append(m)
        if m.waiting_since is not None:
            waited = max(0, (as_of - m.waiting_since).days)
            n = waited // policy.overdue_every_days
            key = f"wait:{m.id}:{m.waiting_since.isoformat()}:{n}"
            text = txt.waiting_text(
                m.words(), m.wait_kind, m.waiting_since, policy.link(m.flow_run_id), lang
            )
            add(key, tags, "waiting", text)

    for tag, moved in sorted(moves.items()):
        if len(moved) == 1:
            m, old, new = moved[0]
            key = f"slip:{m.id}:{old.isoformat()}:{new.isoformat()}"
            text = txt.slip_text(m.words(), old, new, link, lang, policy.date_reasons)
            add(key, [tag], "slip", text)
        else:
            ident = ",".join(sorted(f"{m.id}:{o.isoformat()}:{n.isoformat()}" for m, o, n in moved))
            key = f"slips:{hashlib.sha256(ident.encode()).hexdigest()[:16]}"
            rows = [(m.words(), o, n) for m, o, n in moved]
            add(key, [tag], "slip", txt.slips_text(rows, policy.date_reasons, link, lang))

    for (gate, opened), affected in sorted(gate_changes.items()):
        key = f"gate:{gate}:{'open' if opened else 'closed'}:{as_of.isoformat()}"
        gate_tags = [t for m in affected for t in _tags(m, policy)]
        reasons = affected[0].gate_reasons
        text = txt.gate_text(
            gate, opened, reasons, [m.words() for m in affected], policy.link(), lang
        )
        add(key, gate_tags, "gate", text)

    for d in deadlines:
        left = (d.due - as_of).days
        if left >= 0:
            step = reminder_step(left, policy.thresholds)
            if step is None:
                continue
            key = f"deadline:{d.key}:{step}:{d.due.isoformat()}"
        else:
            n = (-left - 1) // policy.overdue_every_days
            key = f"deadline:{d.key}:overdue{n}:{d.due.isoformat()}"
        add(key, [d.tag], "deadline", txt.deadline_text(d.title, d.due, as_of, policy.link(), lang))
    return out


def announced_due(m: MilestoneView, before: Snapshot | None, policy: NotifyPolicy) -> date | None:
    """The date people were last told for ``m``; reminder keys hang on it.

    A move of at least ``slip_min_days`` is announced (a slip notice) and becomes the new
    announced date, which re-arms every reminder; a smaller move is not news (a paused
    rollout drifts the projection one day per day) and keeps the old keys, so nothing is
    repeated. The reminders' *text* always shows the current date."""
    if before is None or before.due is None or m.due is None:
        return m.due
    if abs((m.due - before.due).days) >= policy.slip_min_days:
        return m.due
    return before.due


def new_snapshot(
    milestones: Sequence[MilestoneView], previous: dict[str, Snapshot], policy: NotifyPolicy
) -> dict[str, Snapshot]:
    """What to remember for the next run: announced date and gate state per milestone."""
    return {
        m.id: Snapshot(
            announced_due(m, previous.get(m.id), policy), m.gate, m.gate_open if m.gate else None
        )
        for m in milestones
    }


def milestone_views(
    plan: Any,
    schedule: Any,
    verdicts: dict[str, Any],
    states: dict[str, Any],
    as_of: date,
    zone: str | None = None,
) -> list[MilestoneView]:
    """One :class:`MilestoneView` per plan milestone.

    ``schedule`` has ``due: dict[str, date]`` and ``occurrences: dict[str, list[date]]``
    (a recurring milestone is reminded of its next occurrence); ``verdicts`` maps a gate
    name to its GateVerdict (``open``, ``reasons``); ``states`` maps a milestone id to its
    ledger MilestoneRecord (``state``, ``updated_at``, ``flow_run_id``); ``zone`` is the
    project's time zone (default from settings), in which a wait's first day is counted."""
    from models.clock import local_day
    from models.milestone import MilestoneState

    views = []
    for m in plan.milestones:
        due = schedule.due.get(m.id)
        occurrences = (getattr(schedule, "occurrences", None) or {}).get(m.id)
        if occurrences:
            upcoming = [d for d in occurrences if d >= as_of]
            due = min(upcoming) if upcoming else due
        rec = states.get(m.id)
        state = getattr(rec, "state", None)
        verdict = verdicts.get(m.gate) if m.gate else None
        waiting_since = None
        if state == MilestoneState.awaiting_approval and rec is not None:
            waiting_since = local_day(rec.updated_at, zone)
        views.append(
            MilestoneView(
                id=m.id,
                title=m.title,
                owner=m.owner or "",
                tags=tuple(m.notify or ()),
                due=due,
                final=bool(state is not None and state.final),
                waiting_since=waiting_since,
                wait_kind="approval" if getattr(m, "irreversible", False) else "confirmation",
                flow_run_id=getattr(rec, "flow_run_id", None),
                gate=m.gate,
                gate_open=bool(verdict.open) if verdict is not None else True,
                gate_reasons=tuple(verdict.reasons) if verdict is not None else (),
                projected=m.id in (getattr(schedule, "projected", None) or ()),
            )
        )
    return views


def gather_views(day: Day) -> tuple[list[MilestoneView], list[str]]:
    """The milestone views the decision reads, from the day's state (dates with real
    completion days, every gate judged); also why the dates are a projection (the schedule's
    transition reasons, empty when the transition is sure)."""
    schedule = day.schedule
    reasons = [] if schedule.transition_confirmed else list(schedule.transition_reasons)
    views = milestone_views(day.plan, schedule, dict(day.gates), dict(day.records), day.as_of,
                            day.zone)
    return views, reasons
