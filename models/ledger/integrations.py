"""Ledger tables of the integration shutdown: step state, its history, status, rehearsals.

A step is marked ``running`` before it executes and ``done`` after, each in its own committed
unit of work, so a run killed half-way knows exactly where it stopped. Every change is also
appended to the audit chain in the same transaction.

The notify area reads failures through :meth:`IntegrationLedger.failed_shutdowns`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.ledger.base import Base, utcnow


class StepState(enum.StrEnum):
    """Where one shutdown step stands."""

    pending = "pending"
    running = "running"  # started; if found on resume, the run was killed in this step
    done = "done"
    undone = "undone"  # rolled back by its undo
    failed = "failed"


class ShutdownStatus(enum.StrEnum):
    """Where the shutdown of one integration stands."""

    not_started = "not_started"
    in_progress = "in_progress"
    waiting = "waiting"  # for a gate, an approval, a confirmation, silence or another integration
    failed = "failed"  # a step failed; reversible steps were rolled back
    rolled_back = "rolled_back"
    shut_down = "shut_down"


_step_enum = Enum(StepState, name="integration_step_state", native_enum=False, length=16)
_status_enum = Enum(ShutdownStatus, name="integration_status_kind", native_enum=False, length=16)


class IntegrationStep(Base):
    """The current state of one step of one integration's shutdown."""

    __tablename__ = "integration_step"

    integration: Mapped[str] = mapped_column(String(100), primary_key=True)
    step_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[StepState] = mapped_column(_step_enum, default=StepState.pending)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IntegrationStepEvent(Base):
    """One state change of a step (its history)."""

    __tablename__ = "integration_step_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100), index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    from_state: Mapped[StepState | None] = mapped_column(_step_enum, nullable=True)
    to_state: Mapped[StepState] = mapped_column(_step_enum)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="samsa-decom")
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class IntegrationStatusRecord(Base):
    """Where one integration's shutdown stands, and what it waits for."""

    __tablename__ = "integration_status"

    integration: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[ShutdownStatus] = mapped_column(_status_enum)
    current_step: Mapped[str | None] = mapped_column(String(100), nullable=True)
    waiting_for: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the run working on it now ("host:pid:token"), so two runs never work on one integration
    holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    held_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class IntegrationRehearsal(Base):
    """A rehearsal: what a shutdown would have done, step by step (nothing was touched)."""

    __tablename__ = "integration_rehearsal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list)


@dataclass(frozen=True)
class FailedShutdown:
    """A step that failed (for notices): which integration, which step, when and why."""

    integration: str
    step_id: str
    attempt: int
    at: datetime
    detail: str
    flow_run_id: str | None


class IntegrationLedger:
    """Repository for the shutdown tables over a :class:`~models.ledger.Ledger`."""

    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger

    # -- reads ------------------------------------------------------------------------
    def steps(self, integration: str) -> dict[str, IntegrationStep]:
        with Session(self.ledger.engine) as s:
            q = select(IntegrationStep).where(IntegrationStep.integration == integration)
            return {r.step_id: r for r in s.execute(q).scalars()}

    def status(self, integration: str) -> IntegrationStatusRecord | None:
        with Session(self.ledger.engine) as s:
            return s.get(IntegrationStatusRecord, integration)

    def statuses(self) -> dict[str, IntegrationStatusRecord]:
        with Session(self.ledger.engine) as s:
            return {r.integration: r for r in s.execute(select(IntegrationStatusRecord)).scalars()}

    def history(self, integration: str) -> list[IntegrationStepEvent]:
        with Session(self.ledger.engine) as s:
            q = (
                select(IntegrationStepEvent)
                .where(IntegrationStepEvent.integration == integration)
                .order_by(IntegrationStepEvent.id)
            )
            return list(s.execute(q).scalars())

    def rehearsals(self, integration: str | None = None) -> list[IntegrationRehearsal]:
        with Session(self.ledger.engine) as s:
            q = select(IntegrationRehearsal).order_by(IntegrationRehearsal.id)
            if integration is not None:
                q = q.where(IntegrationRehearsal.integration == integration)
            return list(s.execute(q).scalars())

    def failed_shutdowns(self, since: datetime) -> list[FailedShutdown]:
        """Every step that failed at or after ``since`` (UTC), oldest first."""
        with Session(self.ledger.engine) as s:
            q = (
                select(IntegrationStepEvent)
                .where(IntegrationStepEvent.to_state == StepState.failed)
                .where(IntegrationStepEvent.at >= since)
                .order_by(IntegrationStepEvent.id)
            )
            return [
                FailedShutdown(e.integration, e.step_id, e.attempt, e.at, e.detail, e.flow_run_id)
                for e in s.execute(q).scalars()
            ]

    # -- writes (inside a unit of work) -------------------------------------------------
    def mark_step(
        self,
        session: Session,
        integration: str,
        step_id: str,
        state: StepState,
        *,
        detail: str = "",
        actor: str = "samsa-decom",
        flow_run_id: str | None = None,
    ) -> IntegrationStep:
        """Move a step to ``state`` (``running`` counts a new attempt); history + audit."""
        rec = session.get(IntegrationStep, (integration, step_id), with_for_update=True)
        if rec is None:
            rec = IntegrationStep(
                integration=integration,
                step_id=step_id,
                state=StepState.pending,
                attempt=0,
                detail="",
            )
            session.add(rec)
            previous: StepState | None = None
        else:
            previous = rec.state
        now = utcnow()
        if state is StepState.running:
            rec.attempt = (rec.attempt or 0) + 1
            rec.started_at = now
            rec.finished_at = None
        else:
            rec.finished_at = now
        rec.state = state
        rec.detail = detail
        rec.flow_run_id = flow_run_id
        session.add(
            IntegrationStepEvent(
                integration=integration,
                step_id=step_id,
                from_state=previous,
                to_state=state,
                attempt=rec.attempt,
                detail=detail,
                actor=actor,
                flow_run_id=flow_run_id,
                at=now,
            )
        )
        self.ledger.append_audit(
            session,
            actor=actor,
            action=f"integration.step.{state.value}",
            subject=f"integration:{integration}:{step_id}",
            details={
                "from": previous.value if previous else None,
                "to": state.value,
                "attempt": rec.attempt,
                "detail": detail,
                "flow_run_id": flow_run_id,
            },
        )
        session.flush()
        return rec

    def set_status(
        self,
        session: Session,
        integration: str,
        status: ShutdownStatus,
        *,
        current_step: str | None = None,
        waiting_for: str = "",
        detail: str = "",
        flow_run_id: str | None = None,
        actor: str = "samsa-decom",
    ) -> bool:
        """Record where the integration stands; audited when status or wait reason change."""
        rec = session.get(IntegrationStatusRecord, integration, with_for_update=True)
        if rec is None:
            rec = IntegrationStatusRecord(integration=integration, status=status)
            session.add(rec)
            changed = True
            previous = None
        else:
            previous = rec.status
            changed = rec.status != status or rec.waiting_for != waiting_for
        rec.status = status
        rec.current_step = current_step
        rec.waiting_for = waiting_for
        rec.detail = detail
        rec.flow_run_id = flow_run_id
        rec.updated_at = utcnow()
        if changed:
            self.ledger.append_audit(
                session,
                actor=actor,
                action="integration.status",
                subject=f"integration:{integration}",
                details={
                    "from": previous.value if previous else None,
                    "to": status.value,
                    "step": current_step,
                    "waiting_for": waiting_for,
                    "flow_run_id": flow_run_id,
                },
            )
        session.flush()
        return changed

    def acquire(
        self, session: Session, integration: str, holder: str, until: datetime
    ) -> str | None:
        """Take the integration for ``holder`` until ``until``; the current holder's name if
        another live run has it. A holder on this host whose process is gone, or whose time
        is up, has lost it (a killed run)."""
        rec = session.get(IntegrationStatusRecord, integration, with_for_update=True)
        if rec is None:
            rec = IntegrationStatusRecord(
                integration=integration,
                status=ShutdownStatus.not_started,
                waiting_for="",
                detail="",
                updated_at=utcnow(),
            )
            session.add(rec)
        elif rec.holder and rec.holder != holder and _holder_alive(rec.holder, rec.held_until):
            return rec.holder
        rec.holder = holder
        rec.held_until = until
        session.flush()
        return None

    def release(self, session: Session, integration: str, holder: str) -> None:
        rec = session.get(IntegrationStatusRecord, integration, with_for_update=True)
        if rec is not None and rec.holder == holder:
            rec.holder = None
            rec.held_until = None
            session.flush()

    def record_rehearsal(
        self, session: Session, integration: str, lines: list[str], flow_run_id: str | None = None
    ) -> IntegrationRehearsal:
        rec = IntegrationRehearsal(
            integration=integration, lines=lines, flow_run_id=flow_run_id, at=utcnow()
        )
        session.add(rec)
        session.flush()
        return rec


def _holder_alive(holder: str, until: datetime | None) -> bool:
    import os
    import socket

    if until is not None:
        aware = until if until.tzinfo else until.replace(tzinfo=UTC)
        if aware <= utcnow():
            return False
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine: trust its lease until it runs out
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
