"""One day's notify run: the day's state → decided notices → outbox → channels.

:func:`run_notifications` is the whole run from settings, used by ``samsa-decom notify``
(without Prefect) and by the ``notify-milestones`` flow (``flows/milestones.py``): it opens
the ledger once (for a dry run also a ledger that does not exist yet: nothing recorded),
computes the day's state with :func:`tasks.phaseout.day.load_day` (the same dates and
gates the reconciler and ``samsa-decom plan`` see), and hands it to :func:`notify_day`.

:func:`notify_day` over an already loaded day (rehearsals reuse plan, rollout and ledger)
builds the milestone views and calls :func:`notify_once`, which decides today's notices
(:mod:`tasks.notify.decide`), writes the new ones and this run's snapshot in one
transaction, then sends everything outstanding (:mod:`tasks.notify.outbox`). A dry run
decides and returns the new notices only, writing nothing.

Other areas' deadlines come from the ``providers`` the caller passes (the composition root
``flows/wiring.py`` lists them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.notify.channels import Router
from tasks.notify.decide import (
    DeadlineProvider,
    MilestoneView,
    Notice,
    NotifyPolicy,
    decide_notices,
    gather_views,
    new_snapshot,
)
from tasks.notify.outbox import (
    DeliveryReport,
    deliver,
    enqueue,
    outbox,
    remember,
    remembered,
    retrying,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models.ledger import Ledger
    from models.settings import Settings
    from tasks.phaseout.day import Day


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
    providers: Sequence[DeadlineProvider] = (),
) -> NotifyRun:
    """Decide today's notices, write the new ones and the snapshot in one transaction, then
    send everything outstanding. A dry run decides and returns the new notices only; it
    writes nothing (``ledger`` may then be None: a ledger that does not exist yet)."""
    if ledger is None and not dry_run:
        raise ValueError("a ledger is needed unless it is a dry run")
    previous = remembered(ledger) if ledger is not None else {}
    # no ledger yet (a dry run): no deadlines recorded anywhere either
    sources = providers if ledger is not None else ()
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
        remember(ledger, s, snapshot, views, as_of)
        return counts

    report.queued, report.already = retrying(ledger, record)
    if router is not None:
        sent = deliver(ledger, router, digest=digest, lang=policy.lang)
        report.sent, report.messages, report.failed = sent.sent, sent.messages, sent.failed
        report.errors = sent.errors
    return NotifyRun(as_of, False, notices, report)


def open_ledger_for(url: str, *, dry_run: bool) -> Ledger | None:
    """The ledger; for a dry run also a ledger not made yet (None: nothing recorded yet)."""
    from models.ledger import Ledger, LedgerNotUpgraded

    if not dry_run:
        return Ledger.open(url)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    try:
        return Ledger.open(url)
    except LedgerNotUpgraded:
        return None


def run_notifications(
    settings: Settings,
    as_of: date | None = None,
    *,
    dry_run: bool = False,
    digest: bool | None = None,
    flow_run_id: str | None = None,
    router: Router | None = None,
    providers: Sequence[DeadlineProvider] = (),
) -> NotifyRun:
    """One whole notify run from settings: plan, rollout, ledger, apprise, and the deadlines
    of ``providers``. Used by the CLI (without Prefect) and by the ``notify-milestones``
    flow."""
    from tasks.phaseout.day import load_day

    policy = NotifyPolicy.from_settings(settings, flow_run_id=flow_run_id)
    if router is None and (not dry_run or settings.apprise_urls or settings.apprise_config):
        router = Router.from_settings(settings)  # a dry run checks the configuration too
    ledger = open_ledger_for(settings.resolved_ledger_url(), dry_run=dry_run)
    try:
        return notify_day(
            load_day(settings, as_of, ledger=ledger),
            ledger,
            router,
            policy,
            dry_run=dry_run,
            digest=settings.notify_digest if digest is None else digest,
            providers=providers,
        )
    finally:
        if ledger is not None:
            ledger.close()


def notify_day(
    day: Day,
    ledger: Ledger | None,
    router: Router | None,
    policy: NotifyPolicy,
    *,
    dry_run: bool = False,
    digest: bool = False,
    providers: Sequence[DeadlineProvider] = (),
) -> NotifyRun:
    """One day's run over the day's state and an open ledger (rehearsals reuse them)."""
    views, reasons = gather_views(day)
    policy = replace(policy, date_reasons=tuple(reasons))
    return notify_once(
        ledger, views, day.as_of, policy, router, dry_run=dry_run, digest=digest,
        providers=providers,
    )
