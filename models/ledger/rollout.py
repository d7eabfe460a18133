"""The rollout's last known state, per stage: what the hourly sync compares against."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.ledger.base import Base, utcnow


class RolloutStageSnapshot(Base):
    """One stage of the successor's rollout as the last ``sync-rollout`` run saw it."""

    __tablename__ = "rollout_stage_snapshot"

    stage_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(32))
    planned_go_live: Mapped[date | None] = mapped_column(Date, nullable=True)
    actual_go_live: Mapped[date | None] = mapped_column(Date, nullable=True)
    paused_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
