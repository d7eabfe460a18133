"""What a shutdown run reads from and writes to the ledger, one committed unit of work at a time.

:class:`ShutdownRecords` is the engine's memory across runs, kills and pauses: each step's
state (``pending`` → ``running`` → ``done``, or ``failed``/``undone``), each integration's
status, the run's hold on an integration (a lease, renewed before every step so two runs
never work on the same integration), the people's decisions and the audit entries. Every
write commits on its own, so a run killed half-way leaves the ledger saying exactly how far
it got. Details are masked before they are stored: no personnummer reaches the ledger.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, date, datetime, timedelta

from models.errors import CheckFailed
from models.identity import scrub_identities
from models.integrations import Integration, Step
from models.ledger import Ledger, utcnow
from models.ledger.integrations import IntegrationLedger, ShutdownStatus, StepState
from tasks.integrations.adapters import DETAIL_LIMIT
from tasks.integrations.gates import GateAnswer
from tasks.integrations.hooks import Decision

ACTOR = "samsa-decom"
#: How long a run holds an integration without renewing (each step renews it).
LEASE = timedelta(hours=12)


class ShutdownRecords:
    """One run's view of the ledger's shutdown records (``flow_run_id`` marks its writes)."""

    def __init__(self, ledger: Ledger, flow_run_id: str | None = None) -> None:
        self.ledger = ledger
        self.il = IntegrationLedger(ledger)
        self.flow_run_id = flow_run_id
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        if flow_run_id:
            self.holder += f":{flow_run_id}"

    # -- the run's hold ------------------------------------------------------------------
    def acquire(self, integ: Integration) -> str | None:
        """Hold ``integ`` for this run; the other holder when another run has it."""
        with self.ledger.unit_of_work() as s:
            return self.il.acquire(s, integ.name, self.holder, utcnow() + LEASE)

    def release(self, integ: Integration) -> None:
        with self.ledger.unit_of_work() as s:
            self.il.release(s, integ.name, self.holder)

    # -- states and status ---------------------------------------------------------------
    def states(self, integ: Integration) -> dict[str, StepState]:
        """Each step's recorded state (``pending`` when nothing is recorded)."""
        recorded = self.il.steps(integ.name)
        return {
            s.id: recorded[s.id].state if s.id in recorded else StepState.pending
            for s in integ.steps
        }

    def is_shut_down(self, integ: Integration) -> bool:
        """Every step done, by the ledger's step records (not the status row)."""
        return all(state is StepState.done for state in self.states(integ).values())

    def recorded_status(self, integ: Integration) -> ShutdownStatus:
        rec = self.il.status(integ.name)
        return rec.status if rec else ShutdownStatus.not_started

    def set_status(
        self,
        integ: Integration,
        status: ShutdownStatus,
        *,
        current_step: str | None = None,
        waiting_for: str = "",
        detail: str = "",
    ) -> None:
        """Where the integration stands, in its own unit of work."""
        with self.ledger.unit_of_work() as s:
            self.il.set_status(
                s,
                integ.name,
                status,
                current_step=current_step,
                waiting_for=waiting_for,
                detail=detail,
                flow_run_id=self.flow_run_id,
            )

    def mark(
        self,
        integ: Integration,
        step: Step,
        state: StepState,
        detail: str,
        *,
        actor: str = ACTOR,
        status: ShutdownStatus | None = None,
    ) -> None:
        """One committed unit of work: the step's new state (and the integration's status)."""
        with self.ledger.unit_of_work() as s:
            if state is StepState.running:  # renew this run's hold before a step starts
                other = self.il.acquire(s, integ.name, self.holder, utcnow() + LEASE)
                if other is not None:
                    raise CheckFailed(
                        f"{integ.name}: another run took over ({other}); {step.id} was not started"
                    )
            self.il.mark_step(
                s,
                integ.name,
                step.id,
                state,
                detail=scrub_identities(detail, limit=DETAIL_LIMIT),
                actor=actor,
                flow_run_id=self.flow_run_id,
            )
            if status is not None:
                self.il.set_status(
                    s, integ.name, status, current_step=step.id, flow_run_id=self.flow_run_id
                )

    # -- decisions, rehearsals and audit ---------------------------------------------
    def record_decision(
        self, subject: str, kind: str, decision: Decision, wait: int | None = None,
        code_channel: str | None = None,
    ) -> None:
        """A person's approval (``kind`` approval) or confirmation of ``subject``, answering
        the wait ``wait`` when given (``code_channel``: the tag whose one-time code came with
        it)."""
        with self.ledger.unit_of_work() as s:
            self.ledger.record_approval(
                s,
                subject=subject,
                kind=kind,
                approver=decision.person,
                approved=decision.yes,
                comment=scrub_identities(decision.comment, limit=2000),
                flow_run_id=self.flow_run_id,
                wait=wait,
                code_channel=code_channel,
            )

    def begin_wait(self, subject: str, as_of: date) -> int:
        """The point of no return ``subject`` begins to wait for its approval."""
        with self.ledger.unit_of_work() as s:
            return self.ledger.begin_wait(
                s, subject, {"as_of": str(as_of), "flow_run_id": self.flow_run_id}
            )

    def end_wait(self, subject: str, why: str) -> None:
        """The wait at ``subject`` ends (gate closed, failure, rollback, passed): an approval
        given for it counts no more."""
        with self.ledger.unit_of_work() as s:
            self.ledger.end_wait(s, subject, why)

    def decision_since(self, subject: str, kind: str, since: datetime | None) -> Decision | None:
        """The latest decision of ``kind`` on ``subject`` given at or after ``since``."""
        for a in reversed(self.ledger.approvals(subject)):
            if a.kind != kind:
                continue
            if since is not None and _naive(a.at) < _naive(since):
                return None
            return Decision(a.approver, a.approved, a.comment)
        return None

    def relied_on(
        self, subject: str, gate: str | None, verdict: GateAnswer, as_of: date
    ) -> None:
        """Audit what the point of no return of ``subject`` relies on, just before it runs:
        the gate's verdict and the rollout data it was computed from."""
        with self.ledger.unit_of_work() as s:
            self.ledger.append_audit(
                s,
                actor=ACTOR,
                action="integration.point_of_no_return.basis",
                subject=subject,
                details={"gate": gate, "gate_open": verdict.open, "as_of": str(as_of),
                         **verdict.basis, "flow_run_id": self.flow_run_id},
            )

    def undo_failed(self, integ: Integration, step: Step, detail: str) -> None:
        """Audit an undo that failed during a rollback."""
        with self.ledger.unit_of_work() as s:
            self.ledger.append_audit(
                s,
                actor=ACTOR,
                action="integration.undo.failed",
                subject=integ.subject(step.id),
                details={"detail": detail, "flow_run_id": self.flow_run_id},
            )

    def rehearsed(self, integ: Integration, lines: list[str]) -> None:
        """Keep what a rehearsal would do, and audit that it was rehearsed."""
        with self.ledger.unit_of_work() as s:
            self.il.record_rehearsal(s, integ.name, lines, flow_run_id=self.flow_run_id)
            self.ledger.append_audit(
                s,
                actor=ACTOR,
                action="integration.rehearsal",
                subject=f"integration:{integ.name}",
                details={"steps": len(lines), "flow_run_id": self.flow_run_id},
            )


def _naive(value: datetime) -> datetime:
    """UTC without tzinfo (SQLite hands back naive UTC, PostgreSQL aware)."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
