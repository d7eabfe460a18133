"""The notification outbox and the last-seen milestone snapshot (the notify area's tables).

A notice is written to :class:`NoticeOutbox` *before* it is sent and marked ``sent`` once
every channel of its recipient tag has accepted it. ``(notice_key, tag)`` is unique, so the
same notice can never be queued (or sent) twice for the same recipients.

:class:`MilestoneSnapshot` remembers, per milestone, the due date and gate state seen on the
previous run, so a moved date (a rollout slip) or a gate that opened or closed is noticed.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Enum, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.ledger.base import Base, utcnow


class NoticeStatus(str, enum.Enum):  # noqa: UP042 - like MilestoneState
    """Where a notice stands: ``queued`` (recorded, not yet sent), ``sending`` (claimed by a
    run), ``sent`` (every channel accepted it), ``failed`` (last attempt failed; retried)."""

    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"


_status_enum = Enum(NoticeStatus, name="notice_status_kind", native_enum=False, length=16)


class NoticeOutbox(Base):
    """One notice to one recipient tag."""

    __tablename__ = "notice_outbox"
    __table_args__ = (UniqueConstraint("notice_key", "tag", name="uq_notice_outbox_key_tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_key: Mapped[str] = mapped_column(String(300))
    tag: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="adhoc")
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8), default="sv")
    status: Mapped[NoticeStatus] = mapped_column(_status_enum, default=NoticeStatus.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: fingerprints of the channels (apprise URLs, hashed) that have accepted this notice
    delivered_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MilestoneSnapshot(Base):
    """What the notify run saw last time for one milestone: due date and gate state."""

    __tablename__ = "notice_milestone_snapshot"

    milestone_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    gate: Mapped[str | None] = mapped_column(String(100), nullable=True)
    gate_open: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    gate_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    seen_on: Mapped[date] = mapped_column(Date)  # the run day this row last changed
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
