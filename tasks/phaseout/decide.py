"""A person decides on a waiting milestone: the one use case behind the ``confirm-milestone``
form in the Prefect UI and ``samsa-decom approve`` on the command line.

:func:`decide_milestone` holds the rules both doors share:

- the milestone must be in the plan, and a decision must be awaited (it waits for approval,
  or a person refused it before and decides again);
- the approver's name is required and is a name, never anything shaped like an identity
  number (:func:`models.identity.person_name`);
- the comment is masked (:func:`models.identity.scrub_identities`) before it is stored;
- the gate is evaluated again at the moment of deciding, on the rollout as it is *now* (a
  decision given days after it was asked for meets today's rollout): a manual step confirmed
  while its gate is closed stays waiting;
- a milestone with an ``approver_channel`` is decided only with the one-time code sent
  there when it began to wait (:func:`tasks.decision_codes.redeem_code`): a wrong, reused,
  expired or locked code is refused in Swedish, and the decision records the tag that
  received the code;
- approving a ``disposal`` (a deletion under a gallringsbeslut) needs the decision's
  diarienummer (:func:`models.diarienummer.case_number`), kept in the decision and its audit
  entry;
- what is written, in one transaction, is :func:`tasks.ledger_view.record_decision`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from models.clock import today
from models.diarienummer import case_number as parse_case_number
from models.errors import InputError
from models.identity import person_name, scrub_identities
from models.ledger import Ledger
from models.milestone import MilestoneState
from models.plan import Plan
from models.rollout import Rollout
from models.settings import Settings
from tasks.decision_codes import CodeSent, redeem_code, send_code
from tasks.gates import GateVerdict, evaluate_gate
from tasks.ledger_view import decision_awaited, record_decision
from tasks.notify.channels import Router
from tasks.reconcile import decision_kind, subject_of
from tasks.rollout_source import load_rollout


@dataclass(frozen=True)
class MilestoneDecided:
    """What :func:`decide_milestone` recorded, and what it met."""

    milestone_id: str
    approver: str
    approved: bool
    kind: str  # "approval" (irreversible step) or "confirmation" (manual step)
    manual: bool
    gate: GateVerdict
    new_state: MilestoneState | None  # None: it waits for the reconciler's next run
    code_channel: str | None = None  # the tag whose one-time code confirmed it
    case_number: str | None = None  # the gallringsbeslut's diarienummer (a disposal)


def decide_milestone(
    settings: Settings,
    ledger: Ledger,
    plan: Plan,
    *,
    milestone_id: str,
    approver: str,
    approved: bool,
    comment: str,
    has_action: Callable[[str], bool],
    flow_run_id: str | None = None,
    rollout: Rollout | None = None,
    as_of: date | None = None,
    code: str | None = None,
    case_number: str | None = None,
) -> MilestoneDecided:
    """Record a person's decision on ``milestone_id`` (an occurrence ``id@YYYY-MM`` too).

    ``rollout`` defaults to the configured source read now, ``as_of`` to today; raises
    :class:`InputError` naming the problem (unknown milestone, no name, an identity number
    as the name, nothing awaiting a decision)."""
    try:
        m = plan.milestone(milestone_id.split("@")[0])
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    name = person_name(approver)
    dnr = None
    if m.disposal and approved:
        dnr = parse_case_number(case_number, what=f"godkännandet av {milestone_id}")
    why_not = decision_awaited(ledger, milestone_id)
    if why_not is not None:
        raise InputError(why_not)
    channel = None
    if m.approver_channel:
        channel = redeem_code(ledger, subject_of(milestone_id), code)
    now_rollout = rollout or load_rollout(settings.rollout_source)
    day = as_of or today(settings.timezone)
    verdict = evaluate_gate(plan.gate_for(m), now_rollout, day, lang=settings.language)  # type: ignore[arg-type]
    manual = not has_action(m.action)
    recorded = record_decision(
        ledger, milestone_id=milestone_id, kind=decision_kind(m), approver=name,
        approved=approved, comment=scrub_identities(comment.strip()), manual=manual,
        gate_open=verdict.open, flow_run_id=flow_run_id, case_number=dnr, code_channel=channel,
    )
    return MilestoneDecided(milestone_id, name, approved, recorded.kind, manual, verdict,
                            recorded.new_state, channel, dnr)


def send_milestone_code(
    ledger: Ledger, plan: Plan, milestone_id: str, *, router: Router | None = None,
    settings: Settings | None = None,
) -> CodeSent | None:
    """Send a one-time code for the wait in progress on ``milestone_id`` to its approver's
    channel, unless a live one was already sent for that wait (or the milestone names no
    approver channel, or nothing waits): None then. Raises :class:`InputError` when no
    channel carries the approver's tag."""
    m = plan.milestone(milestone_id.split("@")[0])
    subject = subject_of(milestone_id)
    wait = ledger.wait_in_progress(subject)
    if not m.approver_channel or wait is None or ledger.codes.live(subject, wait) is not None:
        return None
    return send_code(
        ledger, subject=subject, wait=wait, tag=m.approver_channel, what=milestone_what(plan,
        milestone_id), how_to_answer=milestone_how_to_answer(milestone_id), router=router,
        settings=settings,
    )


def milestone_what(plan: Plan, milestone_id: str) -> str:
    """How a code's message names a milestone decision (no personal data)."""
    return f"milstolpe {milestone_id} ({plan.milestone(milestone_id.split('@')[0]).title})"


def milestone_how_to_answer(milestone_id: str) -> str:
    return ("Ange koden i formuläret i Prefect (confirm-milestone) eller med "
            f"'samsa-decom approve {milestone_id} --approver NAMN --code KOD'.")
