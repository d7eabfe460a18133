"""The foundation's ledger tables: milestone state and history, approvals, the audit chain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Enum, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.ledger.base import Base, utcnow
from models.milestone import MilestoneState

_state_enum = Enum(MilestoneState, name="milestone_state_kind", native_enum=False, length=32)


class MilestoneRecord(Base):
    """The current state of one milestone of the plan."""

    __tablename__ = "milestone"

    milestone_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[MilestoneState] = mapped_column(_state_enum, default=MilestoneState.pending)
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MilestoneEvent(Base):
    """One state change of a milestone (its history)."""

    __tablename__ = "milestone_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    milestone_id: Mapped[str] = mapped_column(String(100), index=True)
    from_state: Mapped[MilestoneState | None] = mapped_column(_state_enum, nullable=True)
    to_state: Mapped[MilestoneState] = mapped_column(_state_enum)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="samsa-decom")
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Approval(Base):
    """A person's decision: an approval of an irreversible step or a manual confirmation.

    ``subject`` names what was decided on, e.g. ``milestone:db-deleted`` or
    ``integration:elvis:revoke``.
    """

    __tablename__ = "approval"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # "approval" | "confirmation"
    approver: Mapped[str] = mapped_column(String(200))
    approved: Mapped[bool] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The audit entry that records this decision; a row without one counts for nothing.
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The diarienummer of the disposal decision (gallringsbeslut) a deletion's approval names.
    case_number: Mapped[str | None] = mapped_column(String(40), nullable=True)


class AuditEntry(Base):
    """An append-only audit entry, chained with a key kept outside the ledger.

    ``hash = HMAC(key, prev_hash + canonical JSON of (key_id, seq, at, actor, action,
    subject, details))`` (:mod:`models.ledger.audit`); editing, deleting or reordering any
    row breaks the chain from that row on, and only the key's holder can write a new one.
    """

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None: before keys
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
