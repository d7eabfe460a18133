"""The notify area's door to the ledger: the notice outbox and the milestone snapshot.

``tasks/notify`` decides and sends; every query it needs is here, so the ledger's tables
are read and written in one place (``ledger.outbox``). Writes that must share a transaction
with other writes take the unit of work's ``session``; the rest open their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from models.ledger.base import utcnow
from models.ledger.notify import MilestoneSnapshot, NoticeOutbox, NoticeStatus

if TYPE_CHECKING:
    from models.ledger.repository import Ledger

_CHUNK = 500


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass(frozen=True)
class SnapshotValues:
    """What a notify run remembers of one milestone for the next run."""

    due: date | None
    gate: str | None
    gate_open: bool | None
    gate_reasons: tuple[str, ...] = ()


@dataclass
class OutboxRepository:
    """Queries and writes of the notice outbox and the milestone snapshot."""

    ledger: Ledger

    # -- the outbox -----------------------------------------------------------------------
    def known(self, session: Session, keys: Iterable[str]) -> set[tuple[str, str]]:
        """(key, tag) of every notice already in the outbox among ``keys``."""
        found: set[tuple[str, str]] = set()
        for chunk in _chunks(sorted(set(keys))):
            q = select(NoticeOutbox.notice_key, NoticeOutbox.tag).where(
                NoticeOutbox.notice_key.in_(chunk)
            )
            found.update((k, t) for k, t in session.execute(q).all())
        return found

    def add(self, session: Session, *, key: str, tag: str, kind: str, subject: str, body: str,
            lang: str, actor: str) -> None:
        """Queue one notice (already masked) and audit it, in ``session``'s transaction."""
        session.add(
            NoticeOutbox(
                notice_key=key, tag=tag, kind=kind, subject=subject, body=body, lang=lang,
                status=NoticeStatus.queued, attempts=0, last_error="", delivered_to=[],
            )
        )
        self.ledger.append_audit(
            session, actor=actor, action="notice.queued", subject=f"notice:{key}"[:200],
            details={"tag": tag, "kind": kind},
        )

    def claim(self, *, stale_after: timedelta, tag: str | None = None,
              key: str | None = None) -> list[NoticeOutbox]:
        """Take the notices due to be sent (queued, failed, or claimed longer than
        ``stale_after`` ago by a run that died) in one atomic claim: no run takes a row twice."""
        now = utcnow()
        claimable = or_(
            NoticeOutbox.status.in_([NoticeStatus.queued, NoticeStatus.failed]),
            (NoticeOutbox.status == NoticeStatus.sending)
            & (NoticeOutbox.claimed_at < now - stale_after),
        )
        with Session(self.ledger.engine) as peek:  # most mornings nothing is left: no write
            if peek.execute(select(NoticeOutbox.id).where(claimable).limit(1)).first() is None:
                return []
        with self.ledger.unit_of_work() as s:
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
            ids = list(s.execute(stmt).scalars().all())
            q = select(NoticeOutbox).where(NoticeOutbox.id.in_(ids)).order_by(NoticeOutbox.id)
            return list(s.execute(q).scalars().all()) if ids else []

    def record_delivery(self, ids: Sequence[int], channel_id: str) -> None:
        """Remember that channel ``channel_id`` accepted the notices ``ids``."""
        with self.ledger.unit_of_work() as s:
            for i in ids:
                row = s.get(NoticeOutbox, i)
                if row is not None and channel_id not in row.delivered_to:
                    row.delivered_to = [*row.delivered_to, channel_id]

    def finish(self, ids: Sequence[int], needed: dict[int, set[str]],
               errors: dict[int, list[str]]) -> int:
        """Mark each claimed notice sent (every needed channel has it) or failed, audited.
        Returns how many were sent."""
        sent = 0
        with self.ledger.unit_of_work() as s:
            for i in ids:
                row = s.get(NoticeOutbox, i)
                if row is None:
                    continue
                row.attempts += 1
                missing = needed.get(i, set()) - set(row.delivered_to)
                details: dict[str, Any]
                if needed.get(i) and not missing:
                    row.status = NoticeStatus.sent
                    row.sent_at = utcnow()
                    row.last_error = ""
                    sent += 1
                    action, details = "notice.sent", {"tag": row.tag,
                                                      "channels": len(needed[i])}
                else:
                    row.status = NoticeStatus.failed
                    said = "; ".join(dict.fromkeys(errors.get(i, [])))
                    row.last_error = (said or "not every channel accepted the notice")[:1000]
                    action = "notice.failed"
                    details = {"tag": row.tag, "attempts": row.attempts,
                               "error": row.last_error[:300]}
                self.ledger.append_audit(
                    s, actor="samsa-decom", action=action,
                    subject=f"notice:{row.notice_key}"[:200], details=details,
                )
        return sent

    def delivered_elsewhere(self, keys: Iterable[str]) -> dict[tuple[str, str], set[str]]:
        """(key, subject) → channels that already have that message (through any tag's row)."""
        found: dict[tuple[str, str], set[str]] = {}
        with Session(self.ledger.engine) as s:
            for chunk in _chunks(sorted(set(keys))):
                q = select(NoticeOutbox).where(NoticeOutbox.notice_key.in_(chunk))
                for r in s.execute(q).scalars():
                    found.setdefault((r.notice_key, r.subject), set()).update(r.delivered_to)
        return found

    def rows(self, status: str | None = None) -> list[NoticeOutbox]:
        """The outbox rows (oldest first), optionally of one status."""
        with Session(self.ledger.engine) as s:
            q = select(NoticeOutbox).order_by(NoticeOutbox.id)
            if status is not None:
                q = q.where(NoticeOutbox.status == NoticeStatus(status))
            return list(s.execute(q).scalars().all())

    def is_sent(self, key: str, tag: str) -> bool:
        with Session(self.ledger.engine) as s:
            row = s.execute(
                select(NoticeOutbox).where(NoticeOutbox.notice_key == key,
                                           NoticeOutbox.tag == tag)
            ).scalar_one()
            return row.status == NoticeStatus.sent

    # -- the milestone snapshot -----------------------------------------------------------
    def snapshot(self) -> dict[str, SnapshotValues]:
        """What the previous notify run saw, per milestone."""
        with Session(self.ledger.engine) as s:
            rows = s.execute(select(MilestoneSnapshot)).scalars().all()
            return {r.milestone_id: SnapshotValues(r.due, r.gate, r.gate_open,
                                                   tuple(r.gate_reasons or ()))
                    for r in rows}

    def save_snapshot(self, session: Session, values: dict[str, SnapshotValues],
                      seen_on: date) -> int:
        """Store what changed since the previous run (one read, writes only for changes)."""
        rows = {r.milestone_id: r for r in session.execute(select(MilestoneSnapshot)).scalars()}
        changed = 0
        for mid, v in values.items():
            row = rows.get(mid)
            new = (v.due, v.gate, v.gate_open, list(v.gate_reasons))
            if row is not None and (row.due, row.gate, row.gate_open, row.gate_reasons) == new:
                continue
            if row is None:
                row = MilestoneSnapshot(milestone_id=mid)
                session.add(row)
            row.due, row.gate, row.gate_open, row.gate_reasons = new
            row.seen_on = seen_on
            row.updated_at = utcnow()
            changed += 1
        session.flush()
        return changed
