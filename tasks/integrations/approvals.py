"""People's decisions in a shutdown: the approval at the point of no return, and manual steps.

- **Point of no return.** Before the step named ``point_of_no_return`` runs, it waits for an
  approval of ``integration:<name>:<step>`` given after that wait began (through the Prefect
  form, or ``samsa-decom integrations approve`` while it waits), and then the gate is
  evaluated *again*, at that very moment. No approval, a refusal, or a gate that closed
  meanwhile: the integration waits there (:func:`point_of_no_return_wait` says what for).
  A closed gate, a failure or a rollback ends the wait and voids its approval.
- **Manual steps.** A person confirms the step was done (:func:`confirm_manual_step`); only a
  confirmation recorded after the step was started counts, and "not done" fails the step.

Every decision is recorded in the ledger before it is acted on; comments are masked.
"""

from __future__ import annotations

from datetime import date

from models.errors import InputError
from models.identity import scrub_identities
from models.integrations import Integration, Step
from models.ledger.integrations import ShutdownStatus, StepState
from tasks.decision_codes import redeem_code, send_code
from tasks.integrations.adapters import DETAIL_LIMIT, CallOutcome
from tasks.integrations.gates import closed_reason
from tasks.integrations.hooks import Hooks
from tasks.integrations.records import ShutdownRecords
from tasks.integrations.report import describe


def point_of_no_return_wait(
    records: ShutdownRecords, hooks: Hooks, integ: Integration, step: Step, as_of: date
) -> str:
    """Empty when the step may pass; else what it waits for.

    The first time the step is reached a wait begins (audited); only an approval given after
    that, for that wait, counts. A gate that closes, a failure or a rollback ends the wait
    (:meth:`ShutdownRecords.end_wait`), voiding the approval; the wait is read again just
    before the step may pass."""
    subject = integ.subject(step.id)
    ledger = records.ledger
    wait = ledger.wait_in_progress(subject)
    if wait is None:
        wait = records.begin_wait(subject, as_of)
    latest = ledger.approval_for_wait(subject, wait, integ.approver_channel)
    if latest is None and integ.approver_channel and ledger.codes.live(subject, wait) is None:
        try:
            send_code(ledger, subject=subject, wait=wait, tag=integ.approver_channel,
                      what=f"den oåterkalleliga punkten {subject} ({integ.title})",
                      how_to_answer=("Ange koden i formuläret i Prefect (shutdown-integrations) "
                                     f"eller med 'samsa-decom integrations approve {integ.name} "
                                     "--approver NAMN --code KOD'."))
        except InputError as exc:
            return f"approval of {subject}: {exc}"
    if latest is None or not latest.approved:
        what = step.title or describe(step, rehearsal=False)
        why = f"point of no return {step.id!r}: {what}; gate {integ.gate or '(none)'}"
        decision = hooks.ask_approval(integ, step, why)
        if decision is None:
            if latest is not None:
                said = scrub_identities(latest.comment, limit=DETAIL_LIMIT)
                return f"approval of {subject} refused by {latest.approver}: {said}"
            return (
                f"approval of {subject} (Prefect form, or samsa-decom integrations "
                f"approve {integ.name} --approver NAME)"
            )
        if ledger.wait_in_progress(subject) != wait:
            return _ended(subject)
        channel = None
        if integ.approver_channel:
            try:
                channel = redeem_code(ledger, subject, decision.code)
            except InputError as exc:  # a wrong code decides nothing; it still waits
                return f"approval of {subject}: {exc}"
        records.record_decision(subject, "approval", decision, wait=wait, code_channel=channel)
        if not decision.yes:
            said = scrub_identities(decision.comment, limit=DETAIL_LIMIT)
            return f"approval of {subject} refused by {decision.person}: {said}"
    verdict = hooks.gate(integ.gate, as_of)  # at this very moment
    if not verdict.open:
        records.end_wait(subject, "gate closed")
        return closed_reason(integ.gate, verdict)
    if ledger.wait_in_progress(subject) != wait:  # ended meanwhile (a rollback, say)
        return _ended(subject)
    records.relied_on(subject, integ.gate, verdict, as_of)
    return ""


def _ended(subject: str) -> str:
    return (f"the wait at {subject} ended while the decision was asked (a rollback, failure "
            "or closed gate): it waits anew for a new approval")


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
