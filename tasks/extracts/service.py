"""The extracts' use cases, shared by the CLI and the flows (plain functions, no Prefect).

- :func:`produce_org_bags`: every organisation's bag from one pass, recorded in the ledger;
- :func:`deliver_and_collect`: deliver produced bags to their drops, pick up receipt files;
- :func:`prepare_review`: start a person's case (registrerad → under prövning) and write the
  case officer's review copy (granskningsexemplar), complete, with every third-party item
  marked for the secrecy review; nothing is released;
- :func:`release_request`: once the release is approved for the review in progress, write the
  citizen's version (withheld items replaced, staff HSA-ids out unless decided, the art. 15
  information, a written decision on what was withheld) and close the case as lämnad or
  delvis avslag;
- :func:`answer_request`: the next step of a case, whichever it is (the flow's use case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from models import clock
from models.errors import InputError, Problem
from models.extract_case import KIND_SV, STATE_SV, RequestKind, decision_text
from models.identity import parse_identity
from models.ledger import Ledger
from models.ledger.extracts import RequestState
from models.settings import get_settings
from tasks.extracts.art15 import information
from tasks.extracts.case import case_lease, record_release, release_clearance, start_review
from tasks.extracts.delivery import (
    Drops,
    ReceiptScan,
    deliver_all,
    load_drops,
    record_produced,
    scan_receipts,
)
from tasks.extracts.orgs import OrgBag, read_organisations, write_org_bags
from tasks.extracts.person import LivePersonLookup, PersonLookup, build_person_extract
from tasks.extracts.render import write_documents
from tasks.extracts.requests import ACTOR, get_request
from tasks.extracts.review import apply_review, third_party_items, withheld_summary
from tasks.extracts.source import LiveSource, open_source


def produce_org_bags(
    ledger: Ledger,
    out_dir: Path,
    *,
    source_url: str | None = None,
    archive: Path | None = None,
    org: str | None = None,
    flow_run_id: str | None = None,
    bagging_date: date | None = None,
) -> list[OrgBag]:
    """Write every organisation's bag (or one) in one pass and record them as produced."""
    source = open_source(source_url, archive)
    try:
        bags = write_org_bags(source, out_dir, only_org=org, bagging_date=bagging_date)
    finally:
        source.close()
    record_produced(ledger, bags, flow_run_id)
    return bags


def default_drops() -> Drops:
    s = get_settings()
    return load_drops(s.drops_path, s.home)


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # org ids
    receipts: list[str] = field(default_factory=list)  # org ids confirmed now
    problems: list[Problem] = field(default_factory=list)


def deliver_and_collect(
    ledger: Ledger, drops: Drops, *, source_url: str | None = None, archive: Path | None = None
) -> DeliveryReport:
    """Deliver every produced bag to its drop, then confirm receipts found in the drops."""
    source = open_source(source_url, archive)
    try:
        specs = {s.name: s for s in source.tables()}
        orgs = read_organisations(source, specs["organisation"])
    finally:
        source.close()
    delivered = deliver_all(ledger, drops, orgs)
    scan: ReceiptScan = scan_receipts(ledger)
    return DeliveryReport([d.org_id for d in delivered], scan.confirmed, scan.problems)


@dataclass(frozen=True)
class Answer:
    """What a step of a case produced (no personal data: safe for logs and artifacts).

    ``step`` is ``review`` (the review copy was written), ``released`` (the citizen's version
    was written and the case closed) or ``waiting`` (nothing written: the release waits for
    an approval, ``waiting_for`` says which)."""

    request_id: str
    source: str
    found: bool
    counts: dict[str, int]
    files: dict[str, Path]
    step: str = "released"
    state: str = ""
    third_party: dict[str, int] = field(default_factory=dict)
    waiting_for: str = ""
    notes: tuple[str, ...] = ()


def person_lookup(
    source_url: str | None = None, archive: Path | None = None
) -> tuple[PersonLookup, Any]:
    """The lookup for a person's extract and a closer; settings decide when neither is given.

    ``auto`` (default): the live database when it answers, else the newest archive package.
    """
    if source_url or archive:
        if archive is not None:
            from tasks.extracts.person_index.archive_lookup import ArchivePersonLookup

            lk = ArchivePersonLookup(Path(archive))
            return lk, lk.close
        assert source_url is not None
        live = LiveSource(source_url)
        return LivePersonLookup(live), live.close
    s = get_settings()
    mode = s.extract_person_source
    if mode in ("auto", "live"):
        try:
            live = LiveSource(s.resolved_source_url())
            return LivePersonLookup(live), live.close
        except InputError:
            if mode == "live":
                raise
    return person_lookup(archive=newest_package(s.resolved_archive_dir()))


def newest_package(archive_dir: Path) -> Path:
    """The newest archive package (folder or file holding a .siard) under ``archive_dir``."""
    found = (
        sorted(archive_dir.rglob("*.siard"), key=lambda p: p.stat().st_mtime)
        if (archive_dir.exists())
        else []
    )
    if not found:
        raise InputError(
            f"SAMSA's database does not answer and no archive package is in {archive_dir}"
        )
    return found[-1]


#: The reasons given in a partial refusal when the approver gives none.
DEFAULT_REASONS = (
    "Uppgifterna gäller andra personer än dig och omfattas av sekretess till skydd för enskild "
    "(offentlighets- och sekretesslagen 25 kap. 1 §): det står inte klart att de kan lämnas ut "
    "utan att den enskilde eller någon närstående lider men."
)


def _document(
    ledger: Ledger, request_id: str, source_url: str | None, archive: Path | None,
    produced_on: date | None,
) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    req = get_request(ledger, request_id)
    identity = parse_identity(req.identity)
    lookup, close = person_lookup(source_url, archive)
    try:
        doc = build_person_extract(
            lookup, identity, request_id=request_id, produced_on=produced_on or clock.today()
        )
    finally:
        close()
    doc["case"] = {"kind": req.kind, "kind_sv": KIND_SV[RequestKind(req.kind)],
                   "received_on": req.received_on.isoformat(),
                   "deadline": req.deadline.isoformat()}  # fmt: skip
    return req, doc


def _out(out_dir: Path | None, request_id: str) -> Path:
    return out_dir or get_settings().resolved_extracts_dir() / "requests" / request_id


def prepare_review(
    ledger: Ledger,
    request_id: str,
    *,
    by: str = ACTOR,
    out_dir: Path | None = None,
    source_url: str | None = None,
    archive: Path | None = None,
    produced_on: date | None = None,
) -> Answer:
    """Start the case's review and write the review copy (``granskningsexemplar-<id>``):
    the complete document, every third-party item listed by category and reference
    (``table:id``) for the secrecy review. For the case officer only; nothing is released."""
    start_review(ledger, request_id, by=by)
    with case_lease(ledger, request_id):
        req, doc = _document(ledger, request_id, source_url, archive, produced_on)
        items = third_party_items(doc)
        doc["review_items"] = [{"category": i.category.value, "ref": i.ref, "field": i.field}
                               for i in items]  # fmt: skip
        doc["case"]["state"] = STATE_SV[req.state]
        files = write_documents(doc, _out(out_dir, request_id), review_copy=True)
    per_category: dict[str, int] = {}
    for i in items:
        per_category[i.category.value] = per_category.get(i.category.value, 0) + 1
    notes: tuple[str, ...] = ()
    if req.kind == RequestKind.gdpr_art15 and any(p.get("deceased_on") for p in doc["person"]):
        notes = (
            "personen är avliden: GDPR gäller inte; handlägg begäran som allmän handling "
            "(TF 2 kap., skyndsamt): avslå denna och registrera en ny med --kind tf-avliden",
        )
    return Answer(request_id, doc["source"], doc["found"], doc["counts"], files, step="review",
                  state=req.state.value, third_party=per_category, notes=notes)  # fmt: skip


def release_request(
    ledger: Ledger,
    request_id: str,
    *,
    out_dir: Path | None = None,
    source_url: str | None = None,
    archive: Path | None = None,
    produced_on: date | None = None,
    reasons: str = "",
) -> Answer:
    """Release the citizen's version, only with an approval of the review in progress
    (CheckFailed otherwise, nothing written), and close the case: lämnad, or delvis avslag
    with a written decision (reasons, what was withheld, överklagandehänvisning)."""
    with case_lease(ledger, request_id):
        req = get_request(ledger, request_id)
        clearance = release_clearance(ledger, req)
        req, doc = _document(ledger, request_id, source_url, archive, produced_on)
        citizen = apply_review(doc, ledger.deliveries.withholdings(request_id),
                               show_staff_hsa=req.show_staff_hsa)  # fmt: skip
        withheld = withheld_summary(citizen["review"])
        text = ""
        if withheld:
            text = decision_text(
                refused_what=withheld,
                reasons=reasons or DEFAULT_REASONS,
                decided_by=clearance.approver,
                decided_on=clock.today(),
            )
        kind = RequestKind(req.kind)
        state = RequestState.partly_refused if withheld else RequestState.answered
        citizen["case"].update(state=STATE_SV[state], decided_by=clearance.approver,
                               decision=text)  # fmt: skip
        citizen["information"] = [{"heading": h, "text": t} for h, t in information(doc, kind)]
        out = _out(out_dir, request_id)
        files = write_documents(citizen, out)
        record_release(ledger, request_id, clearance, state=state, source=doc["source"],
                       result_dir=out, decision_text=text)  # fmt: skip
    return Answer(request_id, doc["source"], doc["found"], doc["counts"], files,
                  step="released", state=state.value)  # fmt: skip


def answer_request(
    ledger: Ledger,
    request_id: str,
    *,
    out_dir: Path | None = None,
    source_url: str | None = None,
    archive: Path | None = None,
    produced_on: date | None = None,
) -> Answer:
    """The next step of a case: a registered request gets its review copy; a case under
    review is released when its release is approved, else it waits (nothing written)."""
    from models.errors import CheckFailed
    from models.extract_case import IN_REVIEW

    req = get_request(ledger, request_id)
    if req.state is RequestState.registered:
        return prepare_review(
            ledger, request_id, out_dir=out_dir, source_url=source_url, archive=archive,
            produced_on=produced_on,
        )  # fmt: skip
    if req.state in IN_REVIEW:
        try:
            with case_lease(ledger, request_id):
                release_clearance(ledger, req)
        except CheckFailed as exc:
            return Answer(request_id, "", False, {}, {}, step="waiting", state=req.state.value,
                          waiting_for=str(exc))  # fmt: skip
        return release_request(
        ledger, request_id, out_dir=out_dir, source_url=source_url, archive=archive,
        produced_on=produced_on,
    )  # fmt: skip
    raise InputError(f"begäran {request_id} är redan avgjord ({STATE_SV[req.state]})")
