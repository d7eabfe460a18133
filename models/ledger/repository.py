"""The ledger: the project's long memory (SQLite file by default, PostgreSQL by URL).

The schema is changed in one place only: :func:`upgrade_ledger` runs the Alembic migrations
(every head). ``samsa-decom up``, ``samsa-decom deploy`` and ``samsa-decom upgrade-ledger``
call it, and so do the test fixtures. Opening a ledger never migrates and never creates
anything: a SQLite file that is not there raises :class:`NoLedger` (exit 2, naming the URL);
otherwise it checks that the schema is at the head and raises :class:`LedgerNotUpgraded`,
naming the command.

Open a ledger once per flow run or CLI command and close it (it is a context manager);
write through a unit of work::

    with Ledger.open(url) as ledger:                 # checks the schema, migrates nothing
        with ledger.unit_of_work() as uow:           # commits on success, rolls back on error
            ledger.set_state(uow, "archive-delivered", MilestoneState.running, reason="…")

Every change also appends an audit entry, chained with the audit key (kept outside the
ledger, ``SAMSA_DECOM_AUDIT_KEY``), in the same transaction. A person's decision (an
:class:`Approval` row) counts only when a genuine audit entry backs it: every reader of
approvals here skips the rest, and :meth:`Ledger.unbacked_approvals` names them.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models.errors import CheckFailed, InputError
from models.ledger.archive import ArchiveRepository
from models.ledger.audit import (
    GENESIS,
    ChainVerdict,
    entry_hash,
    key_id,
    legacy_hash,
    row_hash,
    row_is_genuine,
    verify_chain,
)
from models.ledger.base import utcnow
from models.ledger.codes import CodeRepository
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


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        return Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    return None


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL and a busy timeout. Creates nothing."""
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


class NoAuditKey(CheckFailed):
    """No audit key is configured, so the chain can be neither extended nor checked."""


class NoLedger(InputError):
    """There is no ledger at the URL (a SQLite file that does not exist): only the commands
    that create one (``up``, ``deploy``, ``upgrade-ledger``) make it."""


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

    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    try:
        command.upgrade(_alembic_config(url), revision)
    except OperationalError as exc:
        raise CheckFailed(f"ledger at {_redact(url)} cannot be reached: {exc.orig}") from exc


VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it


def _migration_links(path: Path) -> tuple[str, tuple[str, ...]]:
    """A migration file's ``revision`` and ``down_revision`` (none, one or a merge's tuple),
    read from its module-level assignments without running it."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                found[target.id] = ast.literal_eval(node.value)
    down = found.get("down_revision")
    parents = () if down is None else (down,) if isinstance(down, str) else tuple(down)
    return str(found["revision"]), parents


@lru_cache(maxsize=1)
def _head_revisions() -> frozenset[str]:
    """The migrations' heads: the revisions no other migration revises.

    Read from the files' ``revision``/``down_revision`` lines instead of Alembic's script
    directory: importing Alembic costs about 0.1 s, on every command that opens the ledger
    (``tests/test_ledger_schema_check.py`` compares the two)."""
    try:
        files = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
        links = dict(_migration_links(p) for p in files)
    except (KeyError, ValueError, SyntaxError):  # not plain literals: Alembic reads them
        from alembic.script import ScriptDirectory

        return frozenset(ScriptDirectory.from_config(_alembic_config("sqlite://")).get_heads())
    revised = {parent for parents in links.values() for parent in parents}
    return frozenset(links) - revised


def _current_revisions(conn: Any) -> frozenset[str]:
    """The revisions the ledger's version table names (none when it has no such table)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return frozenset()
    return frozenset(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def _check_schema(url: str, engine: Engine) -> None:
    """Raise :class:`LedgerNotUpgraded` unless the schema is at every migration head."""
    try:
        with engine.connect() as conn:
            current = _current_revisions(conn)
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
    audit_key: bytes | None = None

    @classmethod
    def open(
        cls, url: str, *, check_schema: bool = True, audit_key: bytes | None = None
    ) -> Ledger:
        """The ledger at ``url``; raises :class:`LedgerNotUpgraded` when its schema is not at
        the head (``check_schema=False`` only for a check that reports that itself).
        ``audit_key`` defaults to the configured one (``SAMSA_DECOM_AUDIT_KEY``)."""
        if audit_key is None:
            from models.settings import get_settings

            audit_key = get_settings().audit_key_bytes()
        file = _sqlite_file(url)
        if file is not None and not file.is_file():
            raise NoLedger(
                f"no ledger at {_redact(url)}: check the URL (SAMSA_DECOM_LEDGER_URL or "
                f"--ledger), or run '{UPGRADE_COMMAND}' to create a new one"
            )
        engine = make_engine(url)
        if check_schema:
            try:
                _check_schema(url, engine)
            except BaseException:
                engine.dispose()
                raise
        return cls(url=url, engine=engine, audit_key=audit_key)

    def key(self) -> bytes:
        """The audit key; :class:`NoAuditKey` when none is configured."""
        if not self.audit_key:
            raise NoAuditKey(
                "no audit key: set SAMSA_DECOM_AUDIT_KEY (kept outside the ledger; "
                "see docs/operations.md)"
            )
        return self.audit_key

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
    def codes(self) -> CodeRepository:
        """The one-time codes sent for decisions (bound to their wait)."""
        return CodeRepository(self)

    @property
    def rollout(self) -> RolloutRepository:
        """The rollout stages the last sync saw (the rollout area)."""
        return RolloutRepository(self)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- one run at a time ---------------------------------------------------------------
    @contextmanager
    def held(self, name: str) -> Iterator[bool]:
        """Hold the lease ``name`` (e.g. ``reconcile-phaseout``) for the block; yields False
        at once, holding nothing, when another run holds it. PostgreSQL: a session advisory
        lock (released if the process dies); SQLite: an exclusive lock on a file beside the
        ledger file (one machine)."""
        if self.engine.dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            with self.engine.connect() as conn:
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
                           .scalar())
                try:
                    yield got
                finally:
                    if got:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
            return
        file = _sqlite_file(self.url)
        if file is None:  # an in-memory ledger lives in one process
            yield True
            return
        import fcntl

        fd = os.open(f"{file}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

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
        key = self.key()
        entry = AuditEntry(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            details=payload,
            key_id=key_id(key),
            prev_hash=prev,
            hash=entry_hash(key, prev, seq, at, actor, action, subject, payload),
        )
        session.add(entry)
        session.flush()
        return entry

    def verify_audit(self) -> ChainVerdict:
        """Walk the whole chain with the audit key; the verdict names the first bad entry."""
        key = self.key()
        with Session(self.engine) as session:
            rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
            return verify_chain(rows, key)

    def audit_hash_at(self, seq: int) -> str | None:
        """The stored hash of entry ``seq`` (None when there is no such entry)."""
        with Session(self.engine) as session:
            entry = session.get(AuditEntry, seq)
            return entry.hash if entry else None

    def rekey_audit(self, old_key: bytes | None) -> ChainVerdict:
        """Re-anchor the chain on this ledger's key: check every entry with ``old_key`` (or,
        for entries written before the chain was keyed, with the old unkeyed hash), then chain
        them all anew with the current key, and audit the rotation. One transaction; raises
        :class:`CheckFailed` naming the first entry that does not check."""
        key = self.key()
        new_id = key_id(key)
        with self.unit_of_work() as s:
            if self.engine.dialect.name == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(74211)"))
            rows = list(s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
            prev_old = prev_new = GENESIS
            old_ids: set[str] = set()
            for i, row in enumerate(rows, start=1):
                if row.seq != i or row.prev_hash != prev_old:
                    raise CheckFailed(f"audit entry {row.seq}: the chain is broken; not re-keyed")
                if row.key_id:
                    ok = old_key is not None and row.key_id == key_id(old_key) and (
                        row_hash(old_key, row) == row.hash
                    )
                else:
                    ok = legacy_hash(row.prev_hash, row.seq, row.at, row.actor, row.action,
                                     row.subject, row.details) == row.hash
                if not ok:
                    raise CheckFailed(
                        f"audit entry {row.seq} does not check with the old key "
                        f"({row.key_id or 'unkeyed'}); not re-keyed"
                    )
                old_ids.add(row.key_id or "unkeyed")
                prev_old = row.hash
                row.prev_hash = prev_new
                row.key_id = new_id
                row.hash = row_hash(key, row)
                prev_new = row.hash
            s.flush()
            self.append_audit(
                s, actor="samsa-decom", action="audit.rekeyed", subject="audit",
                details={"from": sorted(old_ids), "to": new_id, "entries": len(rows)},
            )
        return self.verify_audit()

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
        keep_wait: bool = False,
    ) -> bool:
        """Move a milestone to ``state``; records history and audit. False if nothing changed.

        Unchanged state with a changed due date updates the date quietly (no history entry).

        A milestone's wait for a decision follows its state (:meth:`begin_wait`): entering
        ``awaiting_approval`` begins one (the approval must come after it in the audit chain);
        ``running`` keeps it (the approved action is carried out); any other state ends it, so
        an approval given for it counts no more (a gate closing, a failure, done).
        ``keep_wait``: a refusal blocks the milestone but stays the answer to its wait.
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
        self._follow_wait(session, milestone_id, previous, state, flow_run_id, keep_wait)
        session.flush()
        return True

    def _follow_wait(self, session: Session, milestone_id: str, previous: MilestoneState | None,
                     state: MilestoneState, flow_run_id: str | None, keep_wait: bool) -> None:
        subject = f"milestone:{milestone_id}"
        if state is MilestoneState.awaiting_approval:
            if self.wait_in_progress(subject, session) is None:
                self.begin_wait(session, subject, {
                    "milestone": milestone_id, "from": previous.value if previous else None,
                    "flow_run_id": flow_run_id})
        elif state is not MilestoneState.running and not keep_wait and previous in (
            MilestoneState.awaiting_approval, MilestoneState.running, MilestoneState.blocked,
        ):
            self.end_wait(session, subject, state.value)

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
        wait: int | None = None,
        case_number: str | None = None,
        code_channel: str | None = None,
    ) -> Approval:
        """Record a person's decision in ``session``'s transaction, backed by an audit entry
        that names the approval row (the row points back at the entry's seq) and the wait it
        answers (:meth:`begin_wait`), when there is one; the disposal decision's
        ``case_number`` and the tag whose one-time code confirmed it (``code_channel``)."""
        approval = Approval(
            subject=subject,
            kind=kind,
            approver=approver,
            approved=approved,
            comment=comment,
            flow_run_id=flow_run_id,
            case_number=case_number,
        )
        session.add(approval)
        session.flush()
        entry = self.append_audit(
            session,
            actor=approver,
            action=_decision_action(kind, approved),
            subject=subject,
            details={"approval_id": approval.id, "comment": comment, "flow_run_id": flow_run_id,
                     **({"wait": wait} if wait is not None else {}),
                     **({"case_number": case_number} if case_number else {}),
                     **({"code_channel": code_channel} if code_channel else {})},
        )
        approval.audit_seq = entry.seq
        session.flush()
        return approval

    def _backing_problem(self, a: Approval, entry: AuditEntry | None) -> str:
        """Empty when ``entry`` is a genuine audit entry that records exactly ``a``."""
        if a.audit_seq is None or entry is None:
            return "no audit entry records it"
        if not self.audit_key or not row_is_genuine(self.audit_key, entry):
            return f"audit entry {entry.seq} is not genuine"
        details = entry.details or {}
        if (
            entry.subject != a.subject
            or entry.actor != a.approver
            or entry.action != _decision_action(a.kind, a.approved)
            or details.get("approval_id") != a.id
            or details.get("comment", "") != a.comment
            or details.get("case_number") != (a.case_number or None)
        ):
            return f"audit entry {entry.seq} records a different decision"
        return ""

    def _backed(self, session: Session, rows: list[Approval]) -> list[Approval]:
        entries = self._entries_for(session, rows)
        return [a for a in rows if not self._backing_problem(a, entries.get(a.audit_seq))]

    @staticmethod
    def _entries_for(session: Session, rows: list[Approval]) -> dict[int | None, AuditEntry]:
        seqs = {a.audit_seq for a in rows if a.audit_seq is not None}
        if not seqs:
            return {}
        q = select(AuditEntry).where(AuditEntry.seq.in_(seqs))
        return {e.seq: e for e in session.execute(q).scalars()}

    def unbacked_approvals(self) -> list[str]:
        """Every approval row no genuine audit entry backs, as "approval N of SUBJECT: why"
        (such a row is ignored by every decision; it was inserted or changed by hand)."""
        with Session(self.engine) as session:
            rows = list(session.execute(select(Approval).order_by(Approval.id)).scalars())
            entries = self._entries_for(session, rows)
            out = []
            for a in rows:
                problem = self._backing_problem(a, entries.get(a.audit_seq))
                if problem:
                    out.append(f"approval {a.id} of {a.subject}: {problem}")
            return out

    def code_channels(self, rows: list[Approval]) -> dict[int, str | None]:
        """Approval id → the tag whose one-time code confirmed it (None: no code), as its
        genuine audit entry records it."""
        with Session(self.engine) as session:
            entries = self._entries_for(session, rows)
        return {a.id: (entries[a.audit_seq].details or {}).get("code_channel")
                if a.audit_seq in entries else None for a in rows}

    def approvals(self, subject: str | None = None) -> list[Approval]:
        """The approvals an audit entry backs, oldest first (optionally of one subject)."""
        with Session(self.engine) as session:
            q = select(Approval).order_by(Approval.id)
            if subject is not None:
                q = q.where(Approval.subject == subject)
            return self._backed(session, list(session.execute(q).scalars().all()))

    def latest_approval(self, subject: str) -> Approval | None:
        found = self.approvals(subject)
        return found[-1] if found else None

    def approvals_under(self, prefix: str) -> list[Approval]:
        """Every approval whose subject starts with ``prefix`` (e.g. ``milestone:``), oldest
        first."""
        with Session(self.engine) as session:
            q = select(Approval).where(Approval.subject.like(prefix + "%")).order_by(Approval.id)
            return self._backed(session, list(session.execute(q).scalars().all()))

    # -- waits for a decision -----------------------------------------------------------
    def begin_wait(self, session: Session, subject: str, details: dict[str, Any]) -> int:
        """Record that ``subject`` now waits for a person's decision; returns the wait's id
        (the seq of its audit entry). Only approvals given after it count."""
        entry = self.append_audit(session, actor="samsa-decom", action=WAIT_BEGAN,
                                  subject=subject, details=details)
        return entry.seq

    def end_wait(self, session: Session, subject: str, why: str) -> bool:
        """End the wait in progress on ``subject`` (gate closed, failure, rollback, acted on):
        an approval given for it counts no more. False when nothing was waiting."""
        if self.wait_in_progress(subject, session) is None:
            return False
        self.append_audit(session, actor="samsa-decom", action=WAIT_ENDED,
                          subject=subject, details={"why": why})
        return True

    def wait_in_progress(self, subject: str, session: Session | None = None) -> int | None:
        """The id of the wait in progress on ``subject`` (None when none is): its newest
        genuine wait entry, when that began a wait."""
        q = (
            select(AuditEntry)
            .where(AuditEntry.subject == subject, AuditEntry.action.in_((WAIT_BEGAN, WAIT_ENDED)))
            .order_by(AuditEntry.seq.desc())
        )
        with self._session(session) as s:
            for entry in s.execute(q).scalars():
                if self.audit_key and row_is_genuine(self.audit_key, entry):
                    return entry.seq if entry.action == WAIT_BEGAN else None
        return None

    def waits_in_progress(self, prefix: str) -> dict[str, int]:
        """Subject → id of its wait in progress, for every subject starting with ``prefix``
        (one read; only genuine entries count, as in :meth:`wait_in_progress`)."""
        q = (
            select(AuditEntry)
            .where(AuditEntry.subject.like(prefix + "%"),
                   AuditEntry.action.in_((WAIT_BEGAN, WAIT_ENDED)))
            .order_by(AuditEntry.seq)
        )
        out: dict[str, int] = {}
        with Session(self.engine) as s:
            for entry in s.execute(q).scalars():
                if not (self.audit_key and row_is_genuine(self.audit_key, entry)):
                    continue
                if entry.action == WAIT_BEGAN:
                    out[entry.subject] = entry.seq
                else:
                    out.pop(entry.subject, None)
        return out

    def approval_for_wait(self, subject: str, wait: int,
                          channel: str | None = None) -> Approval | None:
        """The newest backed decision on ``subject`` given after wait ``wait`` began (with
        ``channel``: only one confirmed by a one-time code sent to that tag)."""
        found = [a for a in self.approvals(subject)
                 if a.kind == "approval" and a.audit_seq is not None and a.audit_seq > wait]
        if channel is not None:
            confirmed = self.code_channels(found)
            found = [a for a in found if confirmed.get(a.id) == channel]
        return found[-1] if found else None

    @contextmanager
    def _session(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
        else:
            with Session(self.engine) as own:
                yield own

    def last_approval(self, session: Session, subject: str) -> Approval | None:
        """The newest backed approval of ``subject``, read in ``session``'s transaction."""
        q = select(Approval).where(Approval.subject == subject).order_by(Approval.id)
        found = self._backed(session, list(session.execute(q).scalars().all()))
        return found[-1] if found else None


#: Audit actions that open and close a wait for a decision.
WAIT_BEGAN = "decision.wait.began"
WAIT_ENDED = "decision.wait.ended"


def _decision_action(kind: str, approved: bool) -> str:
    return f"{kind}.{'granted' if approved else 'refused'}"


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a message must never fail
        return "<ledger url>"


__all__ = [
    "IntegrityError", "Ledger", "LedgerNotUpgraded", "NoAuditKey", "NoLedger", "make_engine",
    "upgrade_ledger",
]
