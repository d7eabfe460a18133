"""The rollout's last known state, per stage: what the hourly sync compares against; and the
rollout area's door to it (``ledger.rollout``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, DateTime, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.ledger.base import Base, utcnow

if TYPE_CHECKING:
    from models.ledger.repository import Ledger


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


@dataclass
class RolloutRepository:
    """The stages the last sync saw."""

    ledger: Ledger

    def stages(self, session: Session | None = None) -> list[RolloutStageSnapshot]:
        """Every stored stage; in ``session``'s transaction when given."""
        if session is not None:
            return list(session.execute(select(RolloutStageSnapshot)).scalars().all())
        with Session(self.ledger.engine) as s:
            return list(s.execute(select(RolloutStageSnapshot)).scalars().all())
