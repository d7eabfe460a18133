"""The case of one person's request in the beslutslogg: review, extension, secrecy review,
approval of the release, refusal. Plain functions over the ledger; the CLI and the flow share
them (``tasks/extracts/service.py`` adds the documents).

Every action on a case:

- takes the case's lease (:func:`case_lease`), so two runs never act on one case at once;
- moves the case only along a legal transition (``models.extract_case.TRANSITIONS``);
- is audited, with no personal data in the audit details.

The release waits for a decision like any other in the ledger: starting the review begins a
wait on ``extract-request:<id>:release`` (:func:`release_subject`); an approval counts only
for the wait in progress (``Ledger.record_approval(..., wait=...)``), and every change of the
secrecy review ends that wait and begins a new one, so an approval covers exactly the review
it saw.

The approver proves who they are with a one-time code (as for milestones and integrations):
when the release's wait begins, a code goes to the channels tagged with
``Settings.extract_approver_channel`` (:func:`send_release_code`), and an approval counts
only when that code came with it (:func:`approve_release` redeems it; :func:`release_clearance`
accepts only an approval confirmed through that tag).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from models import clock
from models.errors import CheckFailed, InputError
from models.extract_case import (
    IN_REVIEW,
    STATE_SV,
    RequestKind,
    check_extension,
    check_transition,
    deadline_for,
    decision_text,
)
from models.identity import person_name, scrub_identities
from models.ledger import Approval, Ledger, utcnow
from models.ledger.extracts import ExtractWithholding, PersonRequest, RequestState
from models.settings import Settings, get_settings
from tasks.decision_codes import CodeSent, redeem_code, send_code
from tasks.extracts.review import Category, parse_item

#: The audit action of a case's move from one state to another.
STATE_CHANGED = "extract_request.state"


def case_subject(request_id: str) -> str:
    return f"extract-request:{request_id}"


def release_subject(request_id: str) -> str:
    """The subject of the release's wait and approval."""
    return f"extract-request:{request_id}:release"


@contextmanager
def case_lease(ledger: Ledger, request_id: str) -> Iterator[None]:
    """Hold the case's lease for the block, or CheckFailed at once when another run acts on
    the same case (the ledger's lease: an advisory lock on PostgreSQL, a lock file beside a
    SQLite ledger)."""
    with ledger.held(f"extract-case-{request_id}") as got:
        if not got:
            raise CheckFailed(
                f"begäran {request_id} hanteras just nu av en annan körning; försök igen när "
                "den är klar"
            )
        yield


def _load(s: object, request_id: str) -> PersonRequest:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    req = s.get(PersonRequest, request_id)
    if req is None:
        raise InputError(f"ingen begäran {request_id} i beslutsloggen")
    return req


def _move(ledger: Ledger, s: object, req: PersonRequest, new: RequestState, actor: str,
          **details: object) -> None:  # fmt: skip
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    check_transition(req.state, new)
    old, req.state = req.state, new
    ledger.append_audit(
        s, actor=actor, action=STATE_CHANGED, subject=case_subject(req.request_id),
        details={"from": old.value, "to": new.value, **details},
    )  # fmt: skip


def _name(by: str) -> str:
    return person_name(by)  # a name, never an identity number (InputError otherwise)


def release_channel(settings: Settings | None = None) -> str | None:
    """The notify tag whose channels receive the release's one-time codes (None: no code)."""
    tag = (settings or get_settings()).extract_approver_channel
    return tag.strip() if tag and tag.strip() else None


def send_release_code(
    ledger: Ledger, request_id: str, *, settings: Settings | None = None
) -> CodeSent | None:
    """Send a one-time code for the release's wait in progress to the approver's channel,
    unless a live one was already sent for that wait (or no channel is configured, or
    nothing waits): None then. Raises :class:`InputError` when no channel carries the tag."""
    tag = release_channel(settings)
    subject = release_subject(request_id)
    wait = ledger.wait_in_progress(subject)
    if tag is None or wait is None or ledger.codes.live(subject, wait) is not None:
        return None
    return send_code(
        ledger, subject=subject, wait=wait, tag=tag,
        what=f"utlämnande av registerutdrag, begäran {request_id}",
        how_to_answer=f"samsa-decom extract approve {request_id} --code KOD, eller formuläret "
        "i körningen approve-extract-release",
        settings=settings,
    )  # fmt: skip


def start_review(ledger: Ledger, request_id: str, *, by: str) -> PersonRequest:
    """registrerad → under prövning; the release's wait begins. A case already under review
    is left as it is."""
    by = _name(by)
    with case_lease(ledger, request_id), ledger.unit_of_work() as s:
        req = _load(s, request_id)
        if req.state not in IN_REVIEW:
            _move(ledger, s, req, RequestState.under_review, by)
            ledger.begin_wait(s, release_subject(request_id), {"review": 0})
        s.expunge(req)
        return req


def extend(
    ledger: Ledger, request_id: str, *, notice_sent_on: date, reason: str, by: str
) -> PersonRequest:
    """under prövning → förlängd (art. 12.3): recorded with the day the person was told and
    why; refused for a TF request and when the notice came after the first month."""
    by = _name(by)
    reason = scrub_identities(reason.strip(), limit=2000)
    if not reason:
        raise InputError("ange skälen för förlängningen (--skal): den enskilde ska få veta dem")
    with case_lease(ledger, request_id), ledger.unit_of_work() as s:
        req = _load(s, request_id)
        check_transition(req.state, RequestState.extended)
        kind = RequestKind(req.kind)
        check_extension(kind, req.received_on, notice_sent_on, clock.today())
        _move(ledger, s, req, RequestState.extended, by,
              notice_sent_on=notice_sent_on.isoformat())  # fmt: skip
        req.extension_notice_on = notice_sent_on
        req.extension_reason = reason
        req.deadline = deadline_for(kind, req.received_on, extended=True)
        s.expunge(req)
        return req


def _review_changed(ledger: Ledger, s: object, request_id: str, what: str) -> None:
    """The review changed: an approval given for the old one counts no more."""
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    subject = release_subject(request_id)
    ledger.end_wait(s, subject, f"sekretessprövningen ändrades: {what}")
    ledger.begin_wait(s, subject, {"review": what})


def _in_review(req: PersonRequest) -> None:
    if req.state not in IN_REVIEW:
        raise InputError(
            f"ärendet är {STATE_SV[req.state]}: sekretessprövning görs bara när ärendet är "
            "under prövning eller förlängt"
        )


def withhold(
    ledger: Ledger,
    request_id: str,
    *,
    category: Category,
    item: str = "",
    ground: str = "OSL 25 kap. 1 §",
    by: str,
) -> ExtractWithholding:
    """Withhold a whole category of third-party data, or one item (``table:id``) of it."""
    by = _name(by)
    item = parse_item(category, item) if item else ""
    ground = scrub_identities(ground.strip(), limit=100) or "OSL 25 kap. 1 §"
    with case_lease(ledger, request_id), ledger.unit_of_work() as s:
        req = _load(s, request_id)
        _in_review(req)
        row = ExtractWithholding(request_id=request_id, category=category.value, item=item,
                                 ground=ground, decided_by=by, at=utcnow())  # fmt: skip
        s.add(row)
        s.flush()
        ledger.append_audit(
            s, actor=by, action="extract_request.withheld", subject=case_subject(request_id),
            details={"category": category.value, "item": item, "ground": ground},
        )  # fmt: skip
        _review_changed(ledger, s, request_id, f"{category.value} {item}".strip())
        s.expunge(row)
        return row


def set_staff_hsa(ledger: Ledger, request_id: str, *, show: bool, by: str) -> None:
    """The case officer decides whether staff HSA-ids go into the citizen's version."""
    by = _name(by)
    with case_lease(ledger, request_id), ledger.unit_of_work() as s:
        req = _load(s, request_id)
        _in_review(req)
        if req.show_staff_hsa == show:
            return
        req.show_staff_hsa = show
        ledger.append_audit(
            s, actor=by, action="extract_request.staff_hsa", subject=case_subject(request_id),
            details={"show": show},
        )  # fmt: skip
        _review_changed(ledger, s, request_id, f"HSA-id {'visas' if show else 'visas inte'}")


def approve_release(
    ledger: Ledger,
    request_id: str,
    *,
    approver: str,
    approved: bool = True,
    comment: str = "",
    expected_wait: int | None = None,
    flow_run_id: str | None = None,
    code: str | None = None,
    settings: Settings | None = None,
) -> Approval:
    """Record a person's decision on the release, answering the wait in progress (the
    generic decision path: the approval is backed by its audit entry and bound to the wait).

    ``expected_wait``: the wait a form showed; when the review changed since (a new wait),
    the answer is refused, so a form opened before a change never approves what it did not
    show.

    ``code``: the one-time code sent to the approver's channel for this wait (required when
    a channel is configured; a wrong, reused or expired code is refused and nothing is
    recorded)."""
    approver = _name(approver)
    subject = release_subject(request_id)
    tag = release_channel(settings)
    with case_lease(ledger, request_id), ledger.unit_of_work() as s:
        req = _load(s, request_id)
        _in_review(req)
        wait = ledger.wait_in_progress(subject, s)
        if wait is None:
            raise InputError(f"utlämnandet av begäran {request_id} väntar inte på något beslut")
        if expected_wait is not None and wait != expected_wait:
            raise CheckFailed(
                f"sekretessprövningen av begäran {request_id} ändrades medan formuläret var "
                "öppet: svaret gäller inte; ett nytt formulär visar den nya prövningen"
            )
    channel = redeem_code(ledger, subject, code) if tag is not None else None
    with case_lease(ledger, request_id), ledger.unit_of_work() as s:
        if ledger.wait_in_progress(subject, s) != wait:  # the review changed meanwhile
            raise CheckFailed(f"sekretessprövningen av begäran {request_id} ändrades: svaret "
                              "gäller inte")  # fmt: skip
        approval = ledger.record_approval(
            s, subject=subject, kind="approval", approver=approver, approved=approved,
            comment=scrub_identities(comment, limit=2000), wait=wait, flow_run_id=flow_run_id,
            code_channel=channel,
        )  # fmt: skip
        s.expunge(approval)
        return approval


@dataclass(frozen=True)
class ReleaseClearance:
    """A release may go ahead: the wait it answers and who approved it."""

    wait: int
    approver: str


def release_clearance(ledger: Ledger, req: PersonRequest) -> ReleaseClearance:
    """The approval that lets ``req`` be released now; CheckFailed saying why not otherwise
    (call it holding the case's lease)."""
    if req.state not in IN_REVIEW:
        raise CheckFailed(
            f"ärendet är {STATE_SV[req.state]}: det finns inget att lämna ut"
            + (" (granskningen har inte börjat)" if req.state is RequestState.registered else "")
        )
    subject = release_subject(req.request_id)
    wait = ledger.wait_in_progress(subject)
    tag = release_channel()
    approval = ledger.approval_for_wait(subject, wait, tag) if wait is not None else None
    if approval is None:
        raise CheckFailed(
            f"utlämnandet av begäran {req.request_id} är inte godkänt: ett godkännande efter "
            "den senaste sekretessprövningen krävs (samsa-decom extract approve)"
        )
    if not approval.approved:
        raise CheckFailed(f"utlämnandet av begäran {req.request_id} avslogs av {approval.approver}")
    assert wait is not None
    return ReleaseClearance(wait, approval.approver)


def record_release(
    ledger: Ledger,
    request_id: str,
    clearance: ReleaseClearance,
    *,
    state: RequestState,
    source: str,
    result_dir: Path,
    decision_text: str = "",
) -> None:
    """Close the case as released (lämnad or delvis avslag) in one transaction with the end of
    the release's wait; CheckFailed when that wait ended meanwhile (call it holding the lease)."""
    subject = release_subject(request_id)
    with ledger.unit_of_work() as s:
        if ledger.wait_in_progress(subject, s) != clearance.wait:
            raise CheckFailed(f"utlämnandet av begäran {request_id} är inte längre godkänt")
        req = _load(s, request_id)
        _move(ledger, s, req, state, clearance.approver, source=source,
              on_time=clock.today() <= req.deadline)  # fmt: skip
        req.decided_by = clearance.approver
        req.decision_text = decision_text
        req.answered_at = utcnow()
        req.answered_from = source
        req.result_dir = str(result_dir)
        ledger.end_wait(s, subject, "utlämnat")


def refuse(ledger: Ledger, request_id: str, *, by: str, reasons: str) -> PersonRequest:
    """under prövning / förlängd → avslag: the whole request is refused with a written
    decision and its överklagandehänvisning; the release's wait ends."""
    by = _name(by)
    reasons = scrub_identities(reasons.strip(), limit=4000)
    if not reasons:
        raise InputError("ett avslag måste motiveras (--skal)")
    with case_lease(ledger, request_id), ledger.unit_of_work() as s:
        req = _load(s, request_id)
        check_transition(req.state, RequestState.refused)
        _move(ledger, s, req, RequestState.refused, by)
        req.decided_by = by
        req.answered_at = utcnow()
        req.decision_text = decision_text(
            refused_what="hela begäran", reasons=reasons, decided_by=by,
            decided_on=clock.today(),
        )  # fmt: skip
        ledger.end_wait(s, release_subject(request_id), "avslag")
        s.expunge(req)
        return req


__all__ = [
    "ReleaseClearance",
    "record_release",
    "approve_release",
    "case_lease",
    "extend",
    "refuse",
    "release_clearance",
    "release_subject",
    "set_staff_hsa",
    "start_review",
    "withhold",
]
