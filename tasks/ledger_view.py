"""Reading and writing what the reconciler needs from the ledger (plain functions).

:func:`read_facts` turns the ledger's milestone rows, their history and the approvals into
:class:`tasks.reconcile.Facts`; :func:`record_decision` writes a person's decision the same
way from the Prefect form and from the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from models.errors import InputError
from models.identity import person_name
from models.ledger import Approval, Ledger
from models.milestone import MilestoneState
from tasks.reconcile import Decision, Facts, subject_of

_PREFIX = "milestone:"


def aware(at: datetime) -> datetime:
    """A UTC-aware datetime (SQLite hands back naive ones; the ledger stores UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def read_facts(ledger: Ledger, needs_code: Mapping[str, str] | None = None) -> dict[str, Facts]:
    """What the ledger knows about every milestone instance, keyed by ledger id.

    A decision counts only for the wait in progress (:meth:`Ledger.waits_in_progress`): its
    audit entry must come after the one that began the wait, and nothing may have ended the
    wait since (a gate closing, a failure, the step done). ``needs_code`` (plan milestone id →
    its approver's tag): a decision on such a milestone counts only when its audit entry shows
    it was confirmed by a one-time code sent to that tag (an approval written past the form
    and ``samsa-decom approve`` counts for nothing)."""
    records = ledger.states()
    awaiting = ledger.awaiting_since()
    waits = ledger.waits_in_progress(_PREFIX)
    newest: dict[str, Approval] = {}
    rows = ledger.approvals_under(_PREFIX)
    confirmed = ledger.code_channels(rows) if needs_code else {}
    for a in rows:
        mid = a.subject[len(_PREFIX):]
        tag = (needs_code or {}).get(mid.split("@")[0])
        if tag is not None and confirmed.get(a.id) != tag:
            continue
        wait = waits.get(a.subject)
        # bound by the audit chain's order, not by clocks: an approval answers the wait in
        # progress only when its own audit entry comes after the entry that began that wait
        if wait is not None and a.audit_seq is not None and a.audit_seq > wait:
            newest[mid] = a  # ordered by id: the last one wins
    out: dict[str, Facts] = {}
    for r in records.values():
        since = awaiting.get(r.milestone_id)
        latest = newest.get(r.milestone_id)
        out[r.milestone_id] = Facts(
            state=r.state,
            due=r.due,
            awaiting_since=aware(since) if since else None,
            decision=Decision(latest.approver, latest.approved, aware(latest.at),
                              latest.comment, latest.kind)
            if latest
            else None,
            detail=r.detail or "",
        )
    return out


@dataclass(frozen=True)
class RecordedDecision:
    """What :func:`record_decision` wrote."""

    milestone_id: str
    kind: str
    approved: bool
    new_state: MilestoneState | None


def record_decision(
    ledger: Ledger,
    *,
    milestone_id: str,
    kind: str,
    approver: str,
    approved: bool,
    comment: str,
    manual: bool,
    gate_open: bool,
    flow_run_id: str | None,
    case_number: str | None = None,
    code_channel: str | None = None,
) -> RecordedDecision:
    """Record a person's decision on a waiting milestone, in one transaction.

    The approval row (subject ``milestone:<id>``) always; then, for a *manual* step confirmed
    done while its gate is open, ``done``; for an irreversible step refused, ``blocked`` with
    the reason. An approved irreversible step stays ``awaiting_approval``: the reconciler runs
    its action on its next run, after checking the gate again. Raises :class:`InputError`
    when nothing about this milestone waits for a decision.
    """
    approver = person_name(approver)
    with ledger.unit_of_work() as s:
        rec = ledger.get_state(s, milestone_id, for_update=True)
        if rec is None:
            raise InputError(f"milestone {milestone_id!r} is not in the ledger yet")
        if rec.state not in (MilestoneState.awaiting_approval, MilestoneState.blocked):
            raise InputError(
                f"milestone {milestone_id!r} is {rec.state.value}: no decision is awaited"
            )
        if rec.state is MilestoneState.blocked and not _refused_last(ledger, s, milestone_id):
            raise InputError(
                f"milestone {milestone_id!r} is blocked ({rec.detail}): it cannot be decided "
                "until its gate and dependencies allow it"
            )
        if rec.state is MilestoneState.blocked:
            # a person decides again on a refused step: it waits anew (new decision epoch)
            ledger.set_state(s, milestone_id, MilestoneState.awaiting_approval,
                             reason="nytt beslut begärt", actor=approver,
                             flow_run_id=flow_run_id)
        ledger.record_approval(
            s, subject=subject_of(milestone_id), kind=kind, approver=approver,
            approved=approved, comment=comment, flow_run_id=flow_run_id,
            wait=ledger.wait_in_progress(subject_of(milestone_id), s),
            case_number=case_number, code_channel=code_channel,
        )
        new_state: MilestoneState | None = None
        note = f": {comment}" if comment else ""
        if manual and approved and gate_open:
            new_state = MilestoneState.done
            ledger.set_state(s, milestone_id, new_state,
                             reason=f"bekräftat klart av {approver}{note}", actor=approver,
                             flow_run_id=flow_run_id)
        elif not manual and not approved:
            new_state = MilestoneState.blocked
            ledger.set_state(s, milestone_id, new_state,
                             reason=f"avslaget av {approver}{note}", actor=approver,
                             flow_run_id=flow_run_id, keep_wait=True)
    return RecordedDecision(milestone_id, kind, approved, new_state)


def decision_awaited(ledger: Ledger, milestone_id: str) -> str | None:
    """None when a person may decide on ``milestone_id`` now, else why not (a sentence)."""
    with ledger.reading() as s:
        rec = ledger.get_state(s, milestone_id)
        if rec is None:
            return f"milestone {milestone_id!r} is not in the ledger yet"
        if rec.state is MilestoneState.awaiting_approval:
            return None
        if rec.state is MilestoneState.blocked and _refused_last(ledger, s, milestone_id):
            return None
        if rec.state is MilestoneState.blocked:
            return (f"milestone {milestone_id!r} is blocked ({rec.detail}): it cannot be "
                    "decided until its gate and dependencies allow it")
        return f"milestone {milestone_id!r} is {rec.state.value}: no decision is awaited"


def _refused_last(ledger: Ledger, s: Session, milestone_id: str) -> bool:
    last = ledger.last_approval(s, subject_of(milestone_id))
    return last is not None and not last.approved
