"""The ledger: the project's long memory (SQLite file by default, PostgreSQL by URL).

Use it as a unit of work::

    ledger = Ledger.open(url)           # runs migrations (Alembic, all heads)
    with ledger.unit_of_work() as uow:   # commits on success, rolls back on an exception
        ledger.set_state(uow, "archive-delivered", MilestoneState.running, reason="…")

Every change also appends a hash-chained audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models.errors import CheckFailed
from models.ledger.audit import GENESIS, ChainVerdict, entry_hash, verify_chain
from models.ledger.base import utcnow
from models.ledger.core import (
    Approval,
    AuditEntry,
    MilestoneEvent,
    MilestoneRecord,
    MilestoneState,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL and a busy timeout, folders are created."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def migrate(url: str, revision: str = "heads") -> None:
    """Bring the ledger at ``url`` up to ``revision`` (default: every head) with Alembic."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, revision)


@dataclass
class Ledger:
    """Repository over the ledger database. Make one per process with :meth:`open`."""

    url: str
    engine: Engine

    @classmethod
    def open(cls, url: str, *, run_migrations: bool = True) -> Ledger:
        engine = make_engine(url)
        if run_migrations:
            try:
                migrate(url)
            except OperationalError as exc:
                raise CheckFailed(
                    f"ledger at {_redact(url)} cannot be reached: {exc.orig}"
                ) from exc
        return cls(url=url, engine=engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- unit of work -------------------------------------------------------------------
    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on any exception."""
        factory = sessionmaker(self.engine, expire_on_commit=False)
        session = factory()
        try:
            if self.engine.dialect.name == "sqlite":
                session.execute(text("BEGIN IMMEDIATE"))  # serialise writers up front
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # -- audit chain --------------------------------------------------------------------
    def append_audit(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        subject: str,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry to the audit chain inside ``session``'s transaction.

        Never put personal data in ``details``: it is shown by ``samsa-decom audit``.
        """
        if self.engine.dialect.name == "postgresql":
            # one writer at a time extends the chain
            session.execute(text("SELECT pg_advisory_xact_lock(74211)"))
        last = session.execute(
            select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
        ).scalar_one_or_none()
        seq = (last.seq + 1) if last else 1
        prev = last.hash if last else GENESIS
        at = utcnow()
        payload = dict(details or {})
        entry = AuditEntry(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            details=payload,
            prev_hash=prev,
            hash=entry_hash(prev, seq, at, actor, action, subject, payload),
        )
        session.add(entry)
        session.flush()
        return entry

    def verify_audit(self) -> ChainVerdict:
        """Walk the whole chain; the verdict names the first bad entry, if any."""
        with Session(self.engine) as session:
            rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
            return verify_chain(rows)

    def audit_entries(self, limit: int | None = None) -> list[AuditEntry]:
        with Session(self.engine) as session:
            q = select(AuditEntry).order_by(AuditEntry.seq.desc())
            if limit:
                q = q.limit(limit)
            return list(reversed(session.execute(q).scalars().all()))

    # -- milestones ---------------------------------------------------------------------
    def states(self) -> dict[str, MilestoneRecord]:
        with Session(self.engine) as session:
            rows = session.execute(select(MilestoneRecord)).scalars().all()
            return {r.milestone_id: r for r in rows}

    def get_state(self, session: Session, milestone_id: str) -> MilestoneRecord | None:
        return session.get(MilestoneRecord, milestone_id)

    def set_state(
        self,
        session: Session,
        milestone_id: str,
        state: MilestoneState,
        *,
        reason: str = "",
        due: date | None = None,
        actor: str = "samsa-decom",
        flow_run_id: str | None = None,
    ) -> bool:
        """Move a milestone to ``state``; records history and audit. False if nothing changed.

        Unchanged state with a changed due date updates the date quietly (no history entry).
        """
        rec = session.get(MilestoneRecord, milestone_id, with_for_update=True)
        if rec is None:
            rec = MilestoneRecord(milestone_id=milestone_id, state=MilestoneState.pending)
            session.add(rec)
            previous: MilestoneState | None = None
        else:
            previous = rec.state
        if due is not None:
            rec.due = due
        if previous == state:
            return False
        rec.state = state
        rec.detail = reason
        rec.flow_run_id = flow_run_id
        rec.updated_at = utcnow()
        session.add(
            MilestoneEvent(
                milestone_id=milestone_id,
                from_state=previous,
                to_state=state,
                reason=reason,
                actor=actor,
                flow_run_id=flow_run_id,
            )
        )
        self.append_audit(
            session,
            actor=actor,
            action="milestone.state",
            subject=f"milestone:{milestone_id}",
            details={
                "from": previous.value if previous else None,
                "to": state.value,
                "reason": reason,
                "flow_run_id": flow_run_id,
            },
        )
        session.flush()
        return True

    def history(self, milestone_id: str) -> list[MilestoneEvent]:
        with Session(self.engine) as session:
            q = (
                select(MilestoneEvent)
                .where(MilestoneEvent.milestone_id == milestone_id)
                .order_by(MilestoneEvent.id)
            )
            return list(session.execute(q).scalars().all())

    # -- approvals ----------------------------------------------------------------------
    def record_approval(
        self,
        session: Session,
        *,
        subject: str,
        kind: str,
        approver: str,
        approved: bool,
        comment: str = "",
        flow_run_id: str | None = None,
    ) -> Approval:
        """Record a person's decision (and audit it) in ``session``'s transaction."""
        approval = Approval(
            subject=subject,
            kind=kind,
            approver=approver,
            approved=approved,
            comment=comment,
            flow_run_id=flow_run_id,
        )
        session.add(approval)
        self.append_audit(
            session,
            actor=approver,
            action=f"{kind}.{'granted' if approved else 'refused'}",
            subject=subject,
            details={"comment": comment, "flow_run_id": flow_run_id},
        )
        session.flush()
        return approval

    def approvals(self, subject: str | None = None) -> list[Approval]:
        with Session(self.engine) as session:
            q = select(Approval).order_by(Approval.id)
            if subject is not None:
                q = q.where(Approval.subject == subject)
            return list(session.execute(q).scalars().all())

    def latest_approval(self, subject: str) -> Approval | None:
        found = self.approvals(subject)
        return found[-1] if found else None


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a message must never fail
        return "<ledger url>"


__all__ = ["Ledger", "make_engine", "migrate", "IntegrityError"]
