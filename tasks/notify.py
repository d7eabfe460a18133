"""Notifications: which notices are due, and getting each one out exactly once.

Two halves:

* **Deciding** (pure): :func:`decide_notices` takes what is known about each milestone
  (:class:`MilestoneView`: due date, gate verdict, ledger state), the previous run's
  :class:`Snapshot`, deadlines from :class:`DeadlineProvider` s, a :class:`NotifyPolicy`
  and the day, and returns :class:`Notice` s. A notice's ``key`` names *what* it is about,
  so deciding again on the same day (or the next) gives the same keys:

  - ``due:<milestone>:<threshold>:<announced date>`` - the tightest threshold (30, 14, 7, 1
    by default; 0 is the day itself) that the days left have reached. A run that missed
    days catches up with one notice, not a burst. An announced move (see
    :func:`announced_due`) makes new keys: a slip re-arms every reminder.
  - ``overdue:<milestone>:<n>:<announced date>`` - the n-th overdue reminder (day 1, 1+N,
    1+2N…); from M days late it also goes to the escalation tag.
  - ``slip:<milestone>:<old>:<new>`` - once per announced move (of at least
    ``slip_min_days``); when several milestones of one tag move in the same run, one
    ``slips:<hash of the moves>`` notice lists them all, old and new date side by side.
  - ``gate:<gate>:<open|closed>:<day>`` - when a gate's verdict changes, one notice per gate.
  - ``wait:<milestone>:<since>:<n>`` - a decision waits (and every N days while it waits).
  - ``deadline:<provider key>:<threshold>:<due date>`` - deadlines of other areas.

* **Sending** (ledger + apprise): :func:`enqueue` writes notices to the outbox before
  anything is sent; :func:`deliver` sends what is queued or failed, one channel at a time,
  and remembers which channels accepted each notice, so a retry never repeats a channel
  that already has it. ``(key, tag)`` is unique in the outbox: a notice can't be doubled.
  :func:`send_notice` is the one call other areas use for an ad-hoc notice.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

from models.clock import today as clock_today
from models.errors import InputError
from tasks import notify_text as txt

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models.ledger import Ledger, NoticeOutbox
    from models.settings import Settings

Lang = Literal["sv", "en"]
_T = TypeVar("_T")

#: A claimed notice whose run died is taken over after this long.
STALE_CLAIM = timedelta(minutes=15)


# ---------------------------------------------------------------------------------------
# What goes in and out of the decision
# ---------------------------------------------------------------------------------------
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

    def words(self) -> txt.MilestoneWords:
        return txt.MilestoneWords(
            self.id, self.title, self.owner, self.due, self.gate, self.gate_open, self.gate_reasons
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
    """Anything that lists deadlines to remind about. Register it in
    ``_DEADLINE_PROVIDERS`` (``"name": "module:factory"``) or with
    :func:`register_deadline_provider`."""

    def deadlines(self, as_of: date) -> Iterable[Deadline]: ...


#: name -> "module:callable returning a DeadlineProvider"; imported only when used.
#: The extracts area adds its line here, e.g. "extracts": "tasks.extracts.deadlines:provider".
_DEADLINE_PROVIDERS: dict[str, str] = {
    "extracts": "tasks.extracts.deadlines:provider",
}
_RUNTIME_PROVIDERS: dict[str, DeadlineProvider] = {}


def register_deadline_provider(name: str, provider: DeadlineProvider) -> None:
    """Add (or replace) a provider for this process."""
    if not isinstance(provider, DeadlineProvider):
        raise TypeError(f"deadline provider {name!r} has no deadlines(as_of) method")
    _RUNTIME_PROVIDERS[name] = provider


def unregister_deadline_provider(name: str) -> None:
    _RUNTIME_PROVIDERS.pop(name, None)


def deadline_sources() -> list[DeadlineProvider]:
    """Every registered provider: the configured ones first, then those added at run time."""
    found: list[DeadlineProvider] = []
    for name, target in sorted(_DEADLINE_PROVIDERS.items()):
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that area is not part of this checkout
            raise
        factory: Callable[[], DeadlineProvider] = getattr(module, attr)
        provider = factory()
        if not isinstance(provider, DeadlineProvider):
            raise TypeError(f"deadline provider {name!r} ({target}) has no deadlines(as_of)")
        found.append(provider)
    found.extend(_RUNTIME_PROVIDERS[n] for n in sorted(_RUNTIME_PROVIDERS))
    return found


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


# ---------------------------------------------------------------------------------------
# Deciding
# ---------------------------------------------------------------------------------------
def reminder_step(days_left: int, thresholds: Sequence[int]) -> int | None:
    """The threshold a reminder belongs to when ``days_left`` remain (0 = the day itself).

    The tightest threshold not below ``days_left``: with 30/14/7/1, 20 days left belongs to
    30, 7 days left to 7, 3 days left to 7. None when no threshold is reached yet."""
    if days_left == 0:
        return 0
    reached = [t for t in thresholds if t >= days_left]
    return min(reached) if reached else None


def _tags(m: MilestoneView, policy: NotifyPolicy) -> tuple[str, ...]:
    return m.tags or (policy.default_tag,)


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
            else:
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


# ---------------------------------------------------------------------------------------
# Building the views from the plan domain (contracts of the plan area)
# ---------------------------------------------------------------------------------------
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
    from models.ledger import MilestoneState

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
            )
        )
    return views


def pending_decisions(ledger: Ledger) -> list[Any]:
    """The milestones waiting for a person's approval or confirmation (ledger records)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.ledger import MilestoneRecord, MilestoneState

    with Session(ledger.engine) as s:
        q = (
            select(MilestoneRecord)
            .where(MilestoneRecord.state == MilestoneState.awaiting_approval)
            .order_by(MilestoneRecord.milestone_id)
        )
        return list(s.execute(q).scalars().all())


# ---------------------------------------------------------------------------------------
# Channels: apprise, routed by tag
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Channel:
    """One apprise service. ``id`` is a fingerprint of its full URL (secrets never stored)."""

    id: str
    label: str  # the URL with secrets hidden
    server: Any

    def send(self, subject: str, body: str) -> tuple[bool, str]:
        import logging

        import apprise

        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as logs:
            ok = bool(self.server.notify(body=body, title=subject))
        if ok:
            return True, ""
        said = "; ".join(line.strip() for line in logs.getvalue().splitlines() if line.strip())
        return False, said[-500:] or "the channel refused the message"


@dataclass
class Router:
    """The apprise services of a configuration, found by recipient tag.

    A service with no tag (or apprise's reserved tag ``always``) receives every notice; a
    tagged one only its tags. Build one per run: apprise keeps SMTP connections open."""

    channels: list[tuple[frozenset[str], Channel]] = field(default_factory=list)

    @classmethod
    def from_sources(
        cls,
        urls: Sequence[str] = (),
        config: Path | None = None,
        *,
        throttle_seconds: float | None = None,
    ) -> Router:
        """Channels from ``tag1,tag2=URL`` strings (or bare URLs) and an apprise YAML file.

        ``throttle_seconds`` overrides apprise's pause between two messages through the same
        service (5.5 s for e-mail by default, kind to mail servers; tests use 0)."""
        import apprise

        ap = apprise.Apprise()
        for url in urls:
            tags, bare = _split_tagged_url(url)
            if not ap.add(bare, tag=tags or None):
                raise InputError(f"apprise URL not understood: {_hide(bare)}")
        if config is not None:
            if not Path(config).is_file():
                raise InputError(f"apprise configuration file not found: {config}")
            cfg = apprise.AppriseConfig()
            cfg.add(str(config))
            servers = cfg.services()
            if not servers:
                raise InputError(
                    f"{config}: no usable apprise URL (check the YAML: `urls:` with `tag:`)"
                )
            ap.add(list(servers))  # type: ignore[arg-type]
        found = []
        for server in ap.find(tag=apprise.common.MATCH_ALL_TAG):
            if throttle_seconds is not None:
                server.request_rate_per_sec = throttle_seconds
            full = server.url(privacy=False)
            fp = hashlib.sha256(full.encode()).hexdigest()[:16]
            found.append(
                (
                    frozenset(server.tags),
                    Channel(fp, server.url(privacy=True).split("?")[0], server),
                )
            )
        return cls(found)

    @classmethod
    def from_settings(cls, s: Settings) -> Router:
        return cls.from_sources(s.apprise_urls, s.apprise_config)

    def for_tag(self, tag: str) -> list[Channel]:
        return [c for tags, c in self.channels if not tags or tag in tags or "always" in tags]


def _split_tagged_url(url: str) -> tuple[list[str], str]:
    """``"projektledning,eskalering=mailto://…"`` → (tags, URL); plain URLs have no tags."""
    head, sep, rest = url.partition("=")
    if sep and "://" not in head and all(t.strip() for t in head.split(",")):
        return [t.strip() for t in head.split(",")], rest.strip()
    return [], url.strip()


def _hide(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}…" if sep else "<url>"


# ---------------------------------------------------------------------------------------
# The outbox
# ---------------------------------------------------------------------------------------
@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    queued: int = 0  # new notices written to the outbox in this run
    already: int = 0  # notices decided again but already in the outbox
    sent: int = 0  # notices that reached every channel of their tag in this run
    messages: int = 0  # messages handed to channels (a digest counts once)
    failed: int = 0  # notices still not delivered (kept for the next run)
    errors: list[str] = field(default_factory=list)


def enqueue(
    ledger: Ledger, session: Session, notices: Iterable[Notice], actor: str = "samsa-decom"
) -> tuple[int, int]:
    """Write new notices to the outbox in ``session``; returns (new, already there)."""
    from sqlalchemy import select

    from models.ledger import NoticeOutbox, NoticeStatus

    new = already = 0
    notices = list(notices)
    keys = {n.key for n in notices}
    known: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted(keys), 500):
        q = select(NoticeOutbox.notice_key, NoticeOutbox.tag).where(
            NoticeOutbox.notice_key.in_(chunk)
        )
        known.update((k, t) for k, t in session.execute(q).all())
    for n in notices:
        if (n.key, n.tag) in known:
            already += 1
            continue
        known.add((n.key, n.tag))
        session.add(
            NoticeOutbox(
                notice_key=n.key,
                tag=n.tag,
                kind=n.kind,
                subject=txt.scrub(n.subject)[:500],
                body=txt.scrub(n.body),
                lang=n.lang,
                status=NoticeStatus.queued,
                attempts=0,
                last_error="",
                delivered_to=[],
            )
        )
        ledger.append_audit(
            session,
            actor=actor,
            action="notice.queued",
            subject=f"notice:{n.key}"[:200],
            details={"tag": n.tag, "kind": n.kind},
        )
        new += 1
    session.flush()
    return new, already


def _retrying(ledger: Ledger, work: Callable[[Session], _T], attempts: int = 3) -> _T:
    """Run ``work`` in a unit of work; when a run at the same moment inserted the same notice
    first (a unique-key clash), start again: the second try sees its rows and skips them."""
    from sqlalchemy.exc import IntegrityError

    for attempt in range(1, attempts + 1):
        try:
            with ledger.unit_of_work() as s:
                return work(s)
        except IntegrityError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _claim(ledger: Ledger, tag: str | None = None, key: str | None = None) -> list[NoticeOutbox]:
    """Take the notices that are due to be sent (queued, failed, or abandoned mid-send)."""
    from sqlalchemy import or_, select, update
    from sqlalchemy.orm import Session

    from models.ledger import NoticeOutbox, NoticeStatus, utcnow

    now = utcnow()
    stale = now - STALE_CLAIM
    claimable = or_(
        NoticeOutbox.status.in_([NoticeStatus.queued, NoticeStatus.failed]),
        (NoticeOutbox.status == NoticeStatus.sending) & (NoticeOutbox.claimed_at < stale),
    )
    with Session(ledger.engine) as peek:  # most mornings there is nothing left: no write
        if peek.execute(select(NoticeOutbox.id).where(claimable).limit(1)).first() is None:
            return []
    with ledger.unit_of_work() as s:
        stmt = (
            update(NoticeOutbox)
            .where(claimable)
            .values(status=NoticeStatus.sending, claimed_at=now)
            .returning(NoticeOutbox.id)
            .execution_options(synchronize_session=False)
        )
        if tag is not None:
            stmt = stmt.where(NoticeOutbox.tag == tag)
        if key is not None:
            stmt = stmt.where(NoticeOutbox.notice_key == key)
        ids = list(s.execute(stmt).scalars().all())  # one atomic claim: no run takes a row twice
        q = select(NoticeOutbox).where(NoticeOutbox.id.in_(ids)).order_by(NoticeOutbox.id)
        claimed = list(s.execute(q).scalars().all()) if ids else []
    return claimed


def _record_delivery(ledger: Ledger, ids: Sequence[int], channel_id: str) -> None:
    from models.ledger import NoticeOutbox

    with ledger.unit_of_work() as s:
        for i in ids:
            row = s.get(NoticeOutbox, i)
            if row is not None and channel_id not in row.delivered_to:
                row.delivered_to = [*row.delivered_to, channel_id]


def _finish(
    ledger: Ledger, ids: Sequence[int], needed: dict[int, set[str]], errors: dict[int, list[str]]
) -> int:
    """Mark each claimed notice sent (every needed channel has it) or failed. Returns sent."""
    from models.ledger import NoticeOutbox, NoticeStatus, utcnow

    sent = 0
    with ledger.unit_of_work() as s:
        for i in ids:
            row = s.get(NoticeOutbox, i)
            if row is None:
                continue
            row.attempts += 1
            missing = needed.get(i, set()) - set(row.delivered_to)
            if needed.get(i) and not missing:
                row.status = NoticeStatus.sent
                row.sent_at = utcnow()
                row.last_error = ""
                sent += 1
                action, details = "notice.sent", {"tag": row.tag, "channels": len(needed[i])}
            else:
                row.status = NoticeStatus.failed
                said = "; ".join(dict.fromkeys(errors.get(i, [])))
                row.last_error = (said or "not every channel accepted the notice")[:1000]
                action = "notice.failed"
                details = {"tag": row.tag, "attempts": row.attempts, "error": row.last_error[:300]}
            ledger.append_audit(
                s,
                actor="samsa-decom",
                action=action,
                subject=f"notice:{row.notice_key}"[:200],
                details=details,
            )
    return sent


def _delivered_elsewhere(ledger: Ledger, keys: set[str]) -> dict[tuple[str, str], set[str]]:
    """(key, subject) → channels that already have that message (through any tag's row)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.ledger import NoticeOutbox

    found: dict[tuple[str, str], set[str]] = {}
    with Session(ledger.engine) as s:
        for chunk in _chunks(sorted(keys), 500):
            q = select(NoticeOutbox).where(NoticeOutbox.notice_key.in_(chunk))
            for r in s.execute(q).scalars():
                found.setdefault((r.notice_key, r.subject), set()).update(r.delivered_to)
    return found


def deliver(
    ledger: Ledger,
    router: Router,
    *,
    digest: bool = False,
    lang: Lang = "sv",
    tag: str | None = None,
    key: str | None = None,
) -> DeliveryReport:
    """Send every outstanding notice (optionally only one tag or one key).

    Each channel gets each message once: a channel that accepted is remembered before the
    next is tried, so after a failure only the channels still missing are retried on the
    next run; and a channel that carries several tags gets a notice meant for more than one
    of them once. With ``digest``, each channel gets one message per run with everything
    outstanding for it (with one channel per tag: one message per recipient tag)."""
    report = DeliveryReport()
    claimed = _claim(ledger, tag=tag, key=key)
    if not claimed:
        return report
    errors: dict[int, list[str]] = {}
    needed: dict[int, set[str]] = {}
    channels: dict[str, Channel] = {}
    for r in claimed:
        mine = router.for_tag(r.tag)
        needed[r.id] = {c.id for c in mine}
        channels.update((c.id, c) for c in mine)
        if not mine:
            err = f"no apprise channel carries the tag {r.tag!r}"
            errors.setdefault(r.id, []).append(err)
            report.errors.append(err)
    had = _delivered_elsewhere(ledger, {r.notice_key for r in claimed})
    for ch in channels.values():
        todo = [r for r in claimed if ch.id in needed[r.id] and ch.id not in r.delivered_to]
        groups: dict[tuple[str, str], list[NoticeOutbox]] = {}
        for r in todo:
            groups.setdefault((r.notice_key, r.subject), []).append(r)
        already = [r for k, rs in groups.items() if ch.id in had.get(k, set()) for r in rs]
        if already:  # this channel has the very message through another tag
            _record_delivery(ledger, [r.id for r in already], ch.id)
            for r in already:
                r.delivered_to = [*r.delivered_to, ch.id]
        fresh = [(k, rs) for k, rs in groups.items() if ch.id not in had.get(k, set())]
        batches: list[tuple[list[NoticeOutbox], str, str]]
        if digest and len(fresh) > 1:
            subject, body = txt.digest_text([(rs[0].subject, rs[0].body) for _, rs in fresh], lang)
            batches = [([r for _, rs in fresh for r in rs], subject, body)]
        else:
            batches = [(rs, rs[0].subject, rs[0].body) for _, rs in fresh]
        for batch, subject, body in batches:
            ok, err = ch.send(subject, body)
            if ok:
                report.messages += 1
                _record_delivery(ledger, [r.id for r in batch], ch.id)
                for r in batch:
                    r.delivered_to = [*r.delivered_to, ch.id]
                    had.setdefault((r.notice_key, r.subject), set()).add(ch.id)
            else:
                for r in batch:
                    errors.setdefault(r.id, []).append(f"{ch.label}: {err}")
                report.errors.append(f"{ch.label}: {err}")
    sent = _finish(ledger, [r.id for r in claimed], needed, errors)
    report.sent += sent
    report.failed += len(claimed) - sent
    report.errors = list(dict.fromkeys(report.errors))
    return report


def send_notice(
    ledger: Ledger,
    tag: str,
    key: str,
    subject: str,
    body: str,
    *,
    kind: str = "adhoc",
    lang: Lang | None = None,
    router: Router | None = None,
    actor: str = "samsa-decom",
) -> bool:
    """Enqueue an ad-hoc notice and try to send it now, through the same outbox.

    For other areas: an integration that failed, a delivery waiting for its receipt. ``key``
    must name the event (e.g. ``integration-failed:elvis:revoke:2027-03-01``): the same key
    and tag are only ever sent once. Returns True when the notice has been sent (now or
    before); False when it stays queued for the next notify run. No personal data in
    ``subject`` or ``body`` (personnummer-shaped text is masked anyway)."""
    from sqlalchemy import select

    from models.ledger import NoticeOutbox, NoticeStatus
    from models.settings import get_settings

    settings = get_settings()
    notice = Notice(key, tag, subject, body, lang or settings.language, kind)
    _retrying(ledger, lambda s: enqueue(ledger, s, [notice], actor=actor))
    deliver(ledger, router or Router.from_settings(settings), tag=tag, key=key)
    with ledger.unit_of_work() as s:
        row = s.execute(
            select(NoticeOutbox).where(NoticeOutbox.notice_key == key, NoticeOutbox.tag == tag)
        ).scalar_one()
        return row.status == NoticeStatus.sent


def outbox(ledger: Ledger, status: str | None = None) -> list[NoticeOutbox]:
    """The outbox rows (oldest first), optionally of one status."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.ledger import NoticeOutbox, NoticeStatus

    with Session(ledger.engine) as s:
        q = select(NoticeOutbox).order_by(NoticeOutbox.id)
        if status is not None:
            q = q.where(NoticeOutbox.status == NoticeStatus(status))
        return list(s.execute(q).scalars().all())


# ---------------------------------------------------------------------------------------
# Snapshot persistence
# ---------------------------------------------------------------------------------------
def load_snapshot(ledger: Ledger) -> dict[str, Snapshot]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.ledger import MilestoneSnapshot

    with Session(ledger.engine) as s:
        rows = s.execute(select(MilestoneSnapshot)).scalars().all()
        return {r.milestone_id: Snapshot(r.due, r.gate, r.gate_open) for r in rows}


def save_snapshot(
    session: Session, snapshot: dict[str, Snapshot], views: Sequence[MilestoneView], as_of: date
) -> int:
    """Store what changed since the previous run (one read, writes only for changes)."""
    from sqlalchemy import select

    from models.ledger import MilestoneSnapshot, utcnow

    reasons = {m.id: list(m.gate_reasons) for m in views}
    rows = {r.milestone_id: r for r in session.execute(select(MilestoneSnapshot)).scalars()}
    changed = 0
    for mid, snap in snapshot.items():
        row = rows.get(mid)
        values = (snap.due, snap.gate, snap.gate_open, reasons.get(mid, []))
        if row is not None and (row.due, row.gate, row.gate_open, row.gate_reasons) == values:
            continue
        if row is None:
            row = MilestoneSnapshot(milestone_id=mid)
            session.add(row)
        row.due, row.gate, row.gate_open, row.gate_reasons = values
        row.seen_on = as_of
        row.updated_at = utcnow()
        changed += 1
    session.flush()
    return changed


# ---------------------------------------------------------------------------------------
# One run: decide, record, send
# ---------------------------------------------------------------------------------------
@dataclass
class NotifyRun:
    """The outcome of one notify run (also what a dry run would send)."""

    as_of: date
    dry_run: bool
    notices: list[Notice]
    report: DeliveryReport


def notify_once(
    ledger: Ledger | None,
    views: Sequence[MilestoneView],
    as_of: date,
    policy: NotifyPolicy,
    router: Router | None,
    *,
    dry_run: bool = False,
    digest: bool = False,
    providers: Sequence[DeadlineProvider] | None = None,
) -> NotifyRun:
    """Decide today's notices, write the new ones and the snapshot in one transaction, then
    send everything outstanding. A dry run decides and returns the new notices only; it
    writes nothing (``ledger`` may then be None: a ledger that does not exist yet)."""
    if ledger is None and not dry_run:
        raise ValueError("a ledger is needed unless it is a dry run")
    previous = load_snapshot(ledger) if ledger is not None else {}
    if providers is None:  # no ledger yet (a dry run): no deadlines recorded anywhere either
        providers = deadline_sources() if ledger is not None else []
    sources = providers
    deadlines = [d for p in sources for d in p.deadlines(as_of)]
    notices = decide_notices(views, previous, as_of, policy, deadlines)
    report = DeliveryReport()
    if dry_run or ledger is None:
        existing = {(r.notice_key, r.tag) for r in outbox(ledger)} if ledger is not None else set()
        fresh = [n for n in notices if (n.key, n.tag) not in existing]
        report.already = len(notices) - len(fresh)
        return NotifyRun(as_of, True, fresh, report)
    snapshot = new_snapshot(views, previous, policy)

    def record(s: Session) -> tuple[int, int]:
        counts = enqueue(ledger, s, notices)
        save_snapshot(s, snapshot, views, as_of)
        return counts

    report.queued, report.already = _retrying(ledger, record)
    if router is not None:
        sent = deliver(ledger, router, digest=digest, lang=policy.lang)
        report.sent, report.messages, report.failed = sent.sent, sent.messages, sent.failed
        report.errors = sent.errors
    return NotifyRun(as_of, False, notices, report)


def gather_views(
    plan: Any,
    rollout: Any,
    states: dict[str, Any],
    as_of: date,
    lang: Lang = "sv",
    zone: str | None = None,
) -> tuple[list[MilestoneView], list[str]]:
    """Schedule the plan against the rollout (real completion dates from the ledger), judge
    every gate, and build the milestone views the decision reads; also why the dates are
    a projection (the schedule's transition reasons, empty when the transition is sure)."""
    from models.clock import project_zone
    from models.schedule import completion_days, compute_schedule
    from tasks.gates import evaluate_gate

    zone = zone or project_zone()
    done = completion_days(states, zone, as_of)
    schedule = compute_schedule(plan, rollout, as_of, done_dates=done)
    verdicts = {
        name: evaluate_gate(gate, rollout, as_of, lang, name=name)
        for name, gate in plan.gates.items()
    }
    reasons = [] if schedule.transition_confirmed else list(schedule.transition_reasons)
    return milestone_views(plan, schedule, verdicts, states, as_of, zone), reasons


def open_ledger_for(url: str, *, dry_run: bool) -> Ledger | None:
    """The ledger; for a dry run without creating anything (None when there is none yet)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from models.ledger import Ledger

    if not dry_run:
        return Ledger.open(url)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    ledger = Ledger.open(url, run_migrations=False)
    try:
        tables = set(inspect(ledger.engine).get_table_names())
    except SQLAlchemyError:
        tables = set()
    if not {"milestone", "notice_outbox", "notice_milestone_snapshot"} <= tables:
        ledger.close()
        return None
    return ledger


def run_notifications(
    settings: Settings,
    as_of: date | None = None,
    *,
    dry_run: bool = False,
    digest: bool | None = None,
    flow_run_id: str | None = None,
    router: Router | None = None,
) -> NotifyRun:
    """One whole notify run from settings: plan, rollout, ledger, apprise. Used by the CLI
    (without Prefect) and by the ``notify-milestones`` flow."""
    from models.plan import load_plan
    from tasks.rollout_source import load_rollout

    day = as_of or clock_today(settings.timezone)
    policy = NotifyPolicy.from_settings(settings, flow_run_id=flow_run_id)
    plan = load_plan(settings.plan_path)
    rollout = load_rollout(settings.rollout_source)
    if router is None and (not dry_run or settings.apprise_urls or settings.apprise_config):
        router = Router.from_settings(settings)  # a dry run checks the configuration too
    ledger = open_ledger_for(settings.resolved_ledger_url(), dry_run=dry_run)
    try:
        return notify_day(
            plan,
            rollout,
            ledger,
            router,
            policy,
            day,
            dry_run=dry_run,
            digest=settings.notify_digest if digest is None else digest,
        )
    finally:
        if ledger is not None:
            ledger.close()


def notify_day(
    plan: Any,
    rollout: Any,
    ledger: Ledger | None,
    router: Router | None,
    policy: NotifyPolicy,
    as_of: date,
    *,
    dry_run: bool = False,
    digest: bool = False,
    providers: Sequence[DeadlineProvider] | None = None,
) -> NotifyRun:
    """One day's run over an already loaded plan, rollout and ledger (rehearsals reuse them)."""
    states = dict(ledger.states()) if ledger is not None else {}
    views, reasons = gather_views(plan, rollout, states, as_of, policy.lang, policy.timezone)
    policy = replace(policy, date_reasons=tuple(reasons))
    return notify_once(
        ledger, views, as_of, policy, router, dry_run=dry_run, digest=digest, providers=providers
    )
