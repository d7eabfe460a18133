"""A person's request for their register extract, kept in the ledger.

The identity is stored only in the ledger's ``person_request`` table. Everything else — Prefect
parameters, logs, artifacts, notices — refers to the request by its opaque id (a UUID).

It stays there while the request is open and for ``SAMSA_DECOM_PERSON_REQUEST_RETENTION_DAYS``
(365 by default, an assumption to confirm with the region's data protection officer) after it
was answered, for follow-up questions and complaints; then :func:`delete_identities`
(``samsa-decom extract purge``) deletes it. The request, its dates, kind and answer stay.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from models import clock
from models.errors import InputError, Problem, ValidationFailed
from models.extract_case import RequestKind, add_months, deadline_for
from models.identity import Identity, IdentityError, parse_identity
from models.ledger import Ledger
from models.ledger.extracts import PersonRequest, RequestState

ACTOR = "samsa-decom extracts"


def one_month_after(day: date) -> date:
    """The same day next month (the last day of next month when it has no such day)."""
    return add_months(day, 1)


def register_request(
    ledger: Ledger,
    identity: Identity,
    *,
    received_on: date | None = None,
    registered_by: str = "",
    kind: RequestKind = RequestKind.gdpr_art15,
) -> PersonRequest:
    """Register a request (registrerad); its deadline follows its kind: one month for a
    registerutdrag, a few days ("skyndsamt") for a TF request (``models/extract_case.py``)."""
    received_on = received_on or clock.today()
    req = PersonRequest(
        request_id=str(uuid.uuid4()),
        identity=identity.value,
        identity_kind=identity.kind.value,
        received_on=received_on,
        deadline=deadline_for(kind, received_on),
        state=RequestState.registered,
        registered_by=registered_by[:200],
        kind=kind.value,
    )
    with ledger.unit_of_work() as s:
        s.add(req)
        ledger.append_audit(
            s,
            actor=registered_by or ACTOR,
            action="extract_request.registered",
            subject=f"extract-request:{req.request_id}",
            details={
                "kind": identity.kind.value,
                "request_kind": kind.value,
                "deadline": req.deadline.isoformat(),
            },  # fmt: skip
        )
    return req


def read_request_file(path: Path) -> list[Identity]:
    """Identities from a request file, or standard input when ``path`` is ``-`` (one per line;
    ``#`` starts a comment). Never from the command line, where ``ps`` and shell history see it.

    Every bad line is reported with its line number and reason, never with the number itself.
    """
    if str(path) == "-":
        text, where = sys.stdin.read(), "standard input"
    elif not path.exists():
        raise InputError(f"filen med begäran finns inte: {path}")
    else:
        text, where = path.read_text(encoding="utf-8"), str(path)
    found: list[Identity] = []
    problems: list[Problem] = []
    for n, line in enumerate(text.splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            found.append(parse_identity(text))
        except IdentityError as exc:
            problems.append(Problem(f"{where}:{n}", f"{exc.reason}: {exc}"))
    if problems:
        raise ValidationFailed(f"request file {where}", problems)
    return found


def get_request(ledger: Ledger, request_id: str) -> PersonRequest:
    """The request with this id; InputError naming the id when there is none."""
    try:
        uuid.UUID(request_id)
    except ValueError:
        # not echoed: someone may have pasted an identity where the request id belongs
        raise InputError(
            f"begärans id ({len(request_id)} tecken) är inte ett id för en begäran (ett UUID); "
            "använd id:t som `samsa-decom extract request` skrev ut"
        ) from None
    with ledger.unit_of_work() as s:
        req = s.get(PersonRequest, request_id)
        if req is None:
            raise InputError(f"ingen begäran om registerutdrag {request_id} i beslutsloggen")
        s.expunge(req)
        return req


def delete_identities(ledger: Ledger, *, as_of: date, retention_days: int) -> list[str]:
    """Delete the identity of every request answered more than ``retention_days`` before
    ``as_of`` (each deletion audited); the ids of the requests whose identity went."""
    cutoff = datetime.combine(as_of - timedelta(days=retention_days), time.min, tzinfo=UTC)
    deleted = []
    with ledger.unit_of_work() as s:
        for req in ledger.deliveries.answered_with_identity(s):
            answered = req.answered_at
            if answered is None or answered.replace(tzinfo=answered.tzinfo or UTC) >= cutoff:
                continue
            req.identity = ""
            deleted.append(req.request_id)
            ledger.append_audit(
                s,
                actor=ACTOR,
                action="extract_request.identity_deleted",
                subject=f"extract-request:{req.request_id}",
                details={"answered_on": answered.date().isoformat(),
                         "retention_days": retention_days},
            )  # fmt: skip
    return deleted
