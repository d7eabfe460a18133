"""The ledger: the project's long memory (SQLite file by default, PostgreSQL by URL).

The schema is changed in one place only: :func:`upgrade_ledger` runs the Alembic migrations
(every head). ``samsa-decom up``, ``samsa-decom deploy`` and ``samsa-decom upgrade-ledger``
call it, and so do the test fixtures. Opening a ledger never migrates: it checks that the
schema is at the head and otherwise raises :class:`LedgerNotUpgraded`, naming the command.

Open a ledger once per flow run or CLI command and close it (it is a context manager);
write through a unit of work::

    with Ledger.open(url) as ledger:                 # checks the schema, migrates nothing
        with ledger.unit_of_work() as uow:           # commits on success, rolls back on error
            ledger.set_state(uow, "archive-delivered", MilestoneState.running, reason="…")

Every change also appends a hash-chained audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models.errors import CheckFailed
from models.ledger.archive import ArchiveRepository
from models.ledger.audit import GENESIS, ChainVerdict, entry_hash, verify_chain
from models.ledger.base import utcnow
from models.ledger.core import (
    Approval,
    AuditEntry,
    MilestoneEvent,
    MilestoneRecord,
)
from models.ledger.deliveries import DeliveryRepository
from models.ledger.outbox import OutboxRepository
from models.ledger.rollout import RolloutRepository
from models.milestone import MilestoneState

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


UPGRADE_COMMAND = "samsa-decom upgrade-ledger"


class LedgerNotUpgraded(CheckFailed):
    """The ledger's schema is not at the migrations' head (or the ledger has no tables yet)."""


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_ledger(url: str, revision: str = "heads") -> None:
    """Bring the ledger at ``url`` up to ``revision`` (default: every head) with Alembic.

    The only place the ledger's schema changes; creates the ledger when there is none."""
    from alembic import command

    make_engine(url).dispose()  # creates a SQLite file's folder
    try:
        command.upgrade(_alembic_config(url), revision)
    except OperationalError as exc:
        raise CheckFailed(f"ledger at {_redact(url)} cannot be reached: {exc.orig}") from exc


@lru_cache(maxsize=1)
def _head_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(_alembic_config("sqlite://")).get_heads())


def _check_schema(url: str, engine: Engine) -> None:
    """Raise :class:`LedgerNotUpgraded` unless the schema is at every migration head."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            current = frozenset(MigrationContext.configure(conn).get_current_heads())
    except OperationalError as exc:
        raise CheckFailed(f"ledger at {_redact(url)} cannot be reached: {exc.orig}") from exc
    if current != _head_revisions():
        found = ", ".join(sorted(current)) or "no schema"
        raise LedgerNotUpgraded(
            f"ledger at {_redact(url)} is not at the current schema ({found}): "
            f"run '{UPGRADE_COMMAND}'"
        )


@dataclass
class Ledger:
    """Repository over the ledger database. Open one per flow run or command with
    :meth:`open` (``with Ledger.open(url) as ledger:``), which closes it at the end."""

    url: str
    engine: Engine

    @classmethod
    def open(cls, url: str, *, check_schema: bool = True) -> Ledger:
        """The ledger at ``url``; raises :class:`LedgerNotUpgraded` when its schema is not at
        the head (``check_schema=False`` only for a check that reports that itself)."""
        engine = make_engine(url)
        if check_schema:
            try:
                _check_schema(url, engine)
            except BaseException:
                engine.dispose()
                raise
        return cls(url=url, engine=engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- the areas' repositories ---------------------------------------------------------
    @property
    def outbox(self) -> OutboxRepository:
        """The notice outbox and the milestone snapshot (the notify area)."""
        return OutboxRepository(self)

    @property
    def deliveries(self) -> DeliveryRepository:
        """Register-extract deliveries and person requests (the extracts area)."""
        return DeliveryRepository(self)

    @property
    def archive(self) -> ArchiveRepository:
        """The archive packages made (the archive area)."""
        return ArchiveRepository(self)

    @property
    def rollout(self) -> RolloutRepository:
        """The rollout stages the last sync saw (the rollout area)."""
        return RolloutRepository(self)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

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

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only (no write lock taken); nothing it changes is kept."""
        with Session(self.engine) as session:
            yield session

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

    def awaiting_since(self) -> dict[str, datetime]:
        """Milestone id → when it last began to await a decision (its newest move to
        ``awaiting_approval``)."""
        with Session(self.engine) as session:
            q = (
                select(MilestoneEvent.milestone_id, func.max(MilestoneEvent.at))
                .where(MilestoneEvent.to_state == MilestoneState.awaiting_approval)
                .group_by(MilestoneEvent.milestone_id)
            )
            return {mid: at for mid, at in session.execute(q).all()}

    def set_reason(self, session: Session, milestone_id: str, reason: str) -> None:
        """Keep a milestone's current reason true without a state change (no history)."""
        rec = session.get(MilestoneRecord, milestone_id)
        if rec is not None:
            rec.detail = reason

    def note_decision_request(
        self, session: Session, milestone_id: str, request_run_id: str, by_run_id: str | None
    ) -> None:
        """Remember the flow run that asks a person about ``milestone_id`` (audited)."""
        rec = session.get(MilestoneRecord, milestone_id, with_for_update=True)
        if rec is None:
            return
        rec.flow_run_id = request_run_id
        rec.updated_at = rec.updated_at or utcnow()
        self.append_audit(
            session, actor="samsa-decom", action="milestone.decision_requested",
            subject=f"milestone:{milestone_id}",
            details={"request_flow_run_id": request_run_id, "flow_run_id": by_run_id},
        )

    def waiting_for_decision(self) -> dict[str, MilestoneRecord]:
        """The milestones waiting for a person's approval or confirmation, by id."""
        with Session(self.engine) as session:
            q = (
                select(MilestoneRecord)
                .where(MilestoneRecord.state == MilestoneState.awaiting_approval)
                .order_by(MilestoneRecord.milestone_id)
            )
            return {r.milestone_id: r for r in session.execute(q).scalars()}

    def get_state(
        self, session: Session, milestone_id: str, *, for_update: bool = False
    ) -> MilestoneRecord | None:
        return session.get(MilestoneRecord, milestone_id, with_for_update=for_update)

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

    def approvals_under(self, prefix: str) -> list[Approval]:
        """Every approval whose subject starts with ``prefix`` (e.g. ``milestone:``), oldest
        first."""
        with Session(self.engine) as session:
            q = select(Approval).where(Approval.subject.like(prefix + "%")).order_by(Approval.id)
            return list(session.execute(q).scalars().all())

    def last_approval(self, session: Session, subject: str) -> Approval | None:
        """The newest approval of ``subject``, read in ``session``'s transaction."""
        q = (
            select(Approval).where(Approval.subject == subject)
            .order_by(Approval.id.desc()).limit(1)
        )
        return session.execute(q).scalar_one_or_none()


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a message must never fail
        return "<ledger url>"


__all__ = ["IntegrityError", "Ledger", "LedgerNotUpgraded", "make_engine", "upgrade_ledger"]
