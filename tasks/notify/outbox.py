"""Getting each notice out exactly once: the outbox in the ledger, then apprise.

- :func:`enqueue` writes notices to the outbox *before* anything is sent, masked
  (:func:`models.identity.scrub_identities`); ``(key, tag)`` is unique in the outbox, so a
  notice decided again is recognised and never doubled.
- :func:`deliver` claims what is queued, failed, or abandoned by a run that died
  (:data:`STALE_CLAIM`), sends it one channel at a time and remembers which channels accepted
  each notice, so a retry never repeats a channel that already has it; a channel that
  carries several tags gets a message meant for more than one of them once. With
  ``digest``, each channel gets one message per run.
- :func:`send_notice` is the one call other areas use for an ad-hoc notice (an integration
  that failed, a delivery waiting for its receipt): the same outbox, the same guarantees.
- :func:`remembered` / :func:`remember` keep what this run saw of each milestone for the
  next run (:class:`tasks.notify.decide.Snapshot`), so moved dates and gates are noticed.

Every query is the ledger's (``ledger.outbox``, :mod:`models.ledger.outbox`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, TypeVar

from models.identity import scrub_identities
from models.ledger.outbox import SnapshotValues
from tasks.notify import words as txt
from tasks.notify.channels import Channel, Router
from tasks.notify.decide import Lang, MilestoneView, Notice, Snapshot

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models.ledger import Ledger, NoticeOutbox

_T = TypeVar("_T")

#: A claimed notice whose run died is taken over after this long.
STALE_CLAIM = timedelta(minutes=15)


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
    notices = list(notices)
    known = ledger.outbox.known(session, (n.key for n in notices))
    new = already = 0
    for n in notices:
        if (n.key, n.tag) in known:
            already += 1
            continue
        known.add((n.key, n.tag))
        ledger.outbox.add(
            session, key=n.key, tag=n.tag, kind=n.kind,
            subject=scrub_identities(n.subject)[:500], body=scrub_identities(n.body),
            lang=n.lang, actor=actor,
        )
        new += 1
    session.flush()
    return new, already


def retrying(ledger: Ledger, work: Callable[[Session], _T], attempts: int = 3) -> _T:
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
    claimed = ledger.outbox.claim(stale_after=STALE_CLAIM, tag=tag, key=key)
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
    had = ledger.outbox.delivered_elsewhere(r.notice_key for r in claimed)
    for ch in channels.values():
        todo = [r for r in claimed if ch.id in needed[r.id] and ch.id not in r.delivered_to]
        groups: dict[tuple[str, str], list[NoticeOutbox]] = {}
        for r in todo:
            groups.setdefault((r.notice_key, r.subject), []).append(r)
        already = [r for k, rs in groups.items() if ch.id in had.get(k, set()) for r in rs]
        if already:  # this channel has the very message through another tag
            ledger.outbox.record_delivery([r.id for r in already], ch.id)
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
                ledger.outbox.record_delivery([r.id for r in batch], ch.id)
                for r in batch:
                    r.delivered_to = [*r.delivered_to, ch.id]
                    had.setdefault((r.notice_key, r.subject), set()).add(ch.id)
            else:
                for r in batch:
                    errors.setdefault(r.id, []).append(f"{ch.label}: {err}")
                report.errors.append(f"{ch.label}: {err}")
    sent = ledger.outbox.finish([r.id for r in claimed], needed, errors)
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
    from models.settings import get_settings

    settings = get_settings()
    notice = Notice(key, tag, subject, body, lang or settings.language, kind)
    retrying(ledger, lambda s: enqueue(ledger, s, [notice], actor=actor))
    deliver(ledger, router or Router.from_settings(settings), tag=tag, key=key)
    return ledger.outbox.is_sent(key, tag)


def outbox(ledger: Ledger, status: str | None = None) -> list[NoticeOutbox]:
    """The outbox rows (oldest first), optionally of one status."""
    return ledger.outbox.rows(status)


def remembered(ledger: Ledger) -> dict[str, Snapshot]:
    """What the previous notify run saw of each milestone."""
    return {mid: Snapshot(v.due, v.gate, v.gate_open)
            for mid, v in ledger.outbox.snapshot().items()}


def remember(
    ledger: Ledger, session: Session, snapshot: dict[str, Snapshot],
    views: Sequence[MilestoneView], as_of: date,
) -> int:
    """Store what changed since the previous run, in ``session``'s transaction."""
    reasons = {m.id: tuple(m.gate_reasons) for m in views}
    values = {mid: SnapshotValues(s.due, s.gate, s.gate_open, reasons.get(mid, ()))
              for mid, s in snapshot.items()}
    return ledger.outbox.save_snapshot(session, values, as_of)
