"""People's decisions in a shutdown: the approval at the point of no return, and manual steps.

- **Point of no return.** Before the step named ``point_of_no_return`` runs, an approval for
  ``integration:<name>:<step>`` must be in the ledger (given through the Prefect form, or
  before the run with ``samsa-decom integrations approve``), and then the gate is evaluated
  *again*, at that very moment. No approval, a refusal, or a gate that closed meanwhile: the
  integration waits there (:func:`point_of_no_return_wait` says what for).
- **Manual steps.** A person confirms the step was done (:func:`confirm_manual_step`); only a
  confirmation recorded after the step was started counts, and "not done" fails the step.

Every decision is recorded in the ledger before it is acted on; comments are masked.
"""

from __future__ import annotations

from datetime import date

from models.identity import scrub_identities
from models.integrations import Integration, Step
from models.ledger.integrations import ShutdownStatus, StepState
from tasks.integrations.adapters import DETAIL_LIMIT, CallOutcome
from tasks.integrations.gates import closed_reason
from tasks.integrations.hooks import Hooks
from tasks.integrations.records import ShutdownRecords
from tasks.integrations.report import describe


def point_of_no_return_wait(
    records: ShutdownRecords, hooks: Hooks, integ: Integration, step: Step, as_of: date
) -> str:
    """Empty when the step may pass; else what it waits for."""
    subject = integ.subject(step.id)
    latest = records.ledger.latest_approval(subject)
    if latest is None or not latest.approved or latest.kind != "approval":
        what = step.title or describe(step, rehearsal=False)
        why = f"point of no return {step.id!r}: {what}; gate {integ.gate or '(none)'}"
        decision = hooks.ask_approval(integ, step, why)
        if decision is None:
            if latest is not None and not latest.approved:
                said = scrub_identities(latest.comment, limit=DETAIL_LIMIT)
                return f"approval of {subject} refused by {latest.approver}: {said}"
            return (
                f"approval of {subject} (Prefect form, or samsa-decom integrations "
                f"approve {integ.name} --approver NAME)"
            )
        records.record_decision(subject, "approval", decision)
        if not decision.yes:
            said = scrub_identities(decision.comment, limit=DETAIL_LIMIT)
            return f"approval of {subject} refused by {decision.person}: {said}"
    verdict = hooks.gate(integ.gate, as_of)  # at this very moment
    if not verdict.open:
        return closed_reason(integ.gate, verdict)
    return ""


def confirm_manual_step(
    records: ShutdownRecords, hooks: Hooks, integ: Integration, step: Step, state: StepState
) -> CallOutcome | None:
    """A manual step: None when a person confirmed it done, else the outcome that stops it
    (waiting for the confirmation, or "not done")."""
    subject = integ.subject(step.id)
    if state is not StepState.running:
        records.mark(
            integ,
            step,
            StepState.running,
            "asked for confirmation",
            status=ShutdownStatus.in_progress,
        )
    started = records.il.steps(integ.name)[step.id].started_at
    recorded = records.decision_since(subject, "confirmation", started)
    if recorded is None:
        decision = hooks.ask_confirmation(integ, step)
        if decision is not None:
            records.record_decision(subject, "confirmation", decision)
            recorded = decision
    if recorded is None:
        return CallOutcome(
            False,
            f"confirmation of {subject} (samsa-decom integrations "
            f"confirm {integ.name} {step.id} --by NAME)",
            not_yet=True,
        )
    if not recorded.yes:
        return CallOutcome(
            False,
            f"{recorded.person} answered not done: "
            + scrub_identities(recorded.comment, limit=DETAIL_LIMIT),
        )
    records.mark(
        integ, step, StepState.done, f"confirmed by {recorded.person}", actor=recorded.person
    )
    return None
