"""Register extracts: every organisation gets the records it is responsible for, and any person
can get an extract of what SAMSA holds about them (registerutdrag) — also after shutdown.

- ``deliver-register-extracts``: one bag (BagIt, CSV + JSON + Swedish README) per
  organisation from one pass over SAMSA's database or its archive package; delivered to each
  organisation's drop; receipt files picked up. The ledger tracks produced → delivered →
  receipt confirmed.
- ``confirm-extract-receipt``: a person confirms that an organisation received its bag (form).
- ``extract-person-register``: takes a person's case one step further (the review copy for a
  registered request; the release once it is approved; otherwise it says what it waits
  for). It takes only the opaque request id: no personal data ever enters Prefect.
- ``approve-extract-release``: the decision on a case's release (form), after the case
  officer's secrecy review; it answers exactly the review the form showed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.actions import ActionContext, ActionResult
from flows.decisions import forget_stored_answer
from flows.forms import DecisionForm, MaskedComment, OneTimeCode, PersonName
from flows.masking import masked_errors
from models.errors import CheckFailed, SamsaDecomError
from models.identity import scrub_identities
from models.ledger import Ledger
from models.ledger.extracts import DeliveryState
from models.settings import SourceUrlParameter, get_settings, refuse_password_in
from tasks.private_files import keep_new_files_private


def _open_ledger() -> Ledger:
    """This flow run's ledger (open it once per run, with ``with``)."""
    return Ledger.open(get_settings().resolved_ledger_url())


def _source(source_url: str | None, archive: str | None) -> str | None:
    """The database to read: as given, else (without an archive) the one from settings, read
    here and not passed in, so its password never becomes a Prefect parameter."""
    if source_url or archive:
        return source_url
    return get_settings().resolved_source_url()


def _run_id() -> str | None:
    from prefect.runtime import flow_run

    rid = flow_run.id
    return str(rid) if rid else None


@task(name="write-organisation-bags", cache_policy=NO_CACHE)
@masked_errors
def write_bags_task(
    ledger: Ledger, source_url: str | None, archive: str | None, out_dir: str, org: str | None
) -> list[dict[str, Any]]:
    """Write every organisation's bag in one pass over the data and record them as produced."""
    from tasks.extracts.service import produce_org_bags

    bags = produce_org_bags(
        ledger, Path(out_dir), source_url=_source(source_url, archive),
        archive=Path(archive) if archive else None, org=org, flow_run_id=_run_id(),
    )  # fmt: skip
    return [
        {"org": b.org.id, "name": b.org.name, "records": b.records, "sha256": b.bag.sha256}
        for b in bags
    ]


@task(name="deliver-bags-and-collect-receipts", cache_policy=NO_CACHE)
@masked_errors
def deliver_task(ledger: Ledger, source_url: str | None, archive: str | None) -> dict[str, Any]:
    """Deliver produced bags to the drops (atomic) and confirm receipts found there."""
    from tasks.extracts.service import default_drops, deliver_and_collect

    report = deliver_and_collect(
        ledger, default_drops(), source_url=_source(source_url, archive),
        archive=Path(archive) if archive else None,
    )  # fmt: skip
    return {
        "delivered": len(report.delivered),
        "receipts": len(report.receipts),
        "problems": [str(p) for p in report.problems],
    }


@flow(name="deliver-register-extracts", log_prints=False)
@masked_errors
def deliver_register_extracts(
    source_url: SourceUrlParameter = None,
    archive: str | None = None,
    out_dir: str | None = None,
    org: str | None = None,
    deliver: bool = True,
) -> dict[str, Any]:
    """Give every organisation the SAMSA records it is responsible for.

    Writes one BagIt bag per organisation (CSV and JSON per record type, README in Swedish)
    from SAMSA's database, or from the archive package when `archive` is given, delivers each
    to the organisation's drop, and tracks receipts. `org` limits the run to one organisation.
    Leave `source_url` empty: the flow reads SAMSA_DECOM_SOURCE_URL itself (a URL with a
    password is refused here). The bags are readable by samsa-decom's user only.
    """
    keep_new_files_private()
    refuse_password_in(source_url, "source_url")
    logger = get_run_logger()
    settings = get_settings()
    target = out_dir or str(settings.resolved_extracts_dir() / "organisations")
    with _open_ledger() as ledger:
        bags = write_bags_task(ledger, source_url, archive, target, org)
        logger.info("wrote %d bags with %d records", len(bags), sum(b["records"] for b in bags))
        delivery: dict[str, Any] = {"delivered": 0, "receipts": 0, "problems": []}
        if deliver:
            delivery = deliver_task(ledger, source_url, archive)
            logger.info(
                "delivered %d bags, %d receipts confirmed",
                delivery["delivered"],
                delivery["receipts"],
            )
            for problem in delivery["problems"]:
                logger.warning("receipt problem: %s", problem)
        _deliveries_artifact(ledger)
    return {"bags": len(bags), "records": sum(b["records"] for b in bags), **delivery}


def _deliveries_artifact(ledger: Ledger) -> None:
    from tasks.extracts.delivery import current_deliveries

    rows = [
        {
            "organisation": f"{d.org_name} ({oid})",
            "records": d.records,
            "state": d.state.value,
            "sha256": d.sha256,
            "delivered": d.delivered_at.strftime("%Y-%m-%d %H:%M") if d.delivered_at else "",
            "receipt": f"{d.receipt_by} ({d.receipt_via})" if d.receipt_by else "",
        }
        for oid, d in sorted(current_deliveries(ledger).items())
    ]
    create_table_artifact(
        key="register-extracts",
        table=rows,
        description="Uttag per organisation: producerat, levererat, kvitterat.",
    )


class ReceiptConfirmation(DecisionForm):
    """Confirmation that an organisation received its register-extract bag."""

    confirmed_by: PersonName = Field(
        title="Ditt namn",
        description="Namnet som skrivs i beslutsloggen som den som bekräftar mottagandet.",
        min_length=1,
        max_length=200,
    )
    received: bool = Field(
        title="Organisationen har tagit emot uttaget",
        description="Kryssa i när mottagaren har bekräftat att uttaget kommit fram och går "
        "att läsa.",
    )
    comment: MaskedComment = Field(default="", title="Kommentar", max_length=2000)


@flow(name="confirm-extract-receipt")
@masked_errors
def confirm_extract_receipt(org: str, timeout_seconds: int = 3600) -> str:
    """A person confirms that one organisation received its register-extract bag.

    The run pauses with a form (Resume in the UI) showing the bag's checksum; the name given
    is recorded in the ledger as the one who confirmed.
    """
    with _open_ledger() as ledger:
        return _confirm_receipt(ledger, org, timeout_seconds)


def _confirm_receipt(ledger: Ledger, org: str, timeout_seconds: int) -> str:
    from prefect.flow_runs import pause_flow_run

    from tasks.extracts.delivery import confirm_receipt, current_deliveries

    row = current_deliveries(ledger).get(org)
    if row is None:
        raise CheckFailed(f"no bag has been produced for organisation {org}")
    if row.state is DeliveryState.receipt_confirmed:
        return f"already confirmed by {row.receipt_by}"
    if row.state is not DeliveryState.delivered:
        raise CheckFailed(f"the bag for organisation {org} has not been delivered yet")
    answer = pause_flow_run(
        wait_for_input=ReceiptConfirmation.with_initial_data(
            description=(
                f"**{row.org_name}** ({org}): paketet `{row.bag_name}` levererades till "
                f"`{row.delivered_to}`.\n\nKontrollsumma (SHA-256 av tagmanifest-sha256.txt): "
                f"`{row.sha256}`"
            ),
            received=False,
        ),
        timeout=timeout_seconds,
    )
    if not answer.received:
        return "not confirmed: the form said the bag has not been received"
    confirm_receipt(ledger, row.sha256, by=answer.confirmed_by, via="form", comment=answer.comment)
    get_run_logger().info("receipt for organisation %s confirmed", org)
    return f"confirmed by {answer.confirmed_by}"


@task(name="answer-person-request", cache_policy=NO_CACHE)
@masked_errors
def answer_request_task(ledger: Ledger, request_id: str) -> dict[str, Any]:
    """Take one case a step further (identity read from the ledger, never from Prefect)."""
    from tasks.extracts.service import answer_request

    try:
        answer = answer_request(ledger, request_id)
    except SamsaDecomError as exc:
        raise type(exc)(scrub_identities(str(exc))) from None
    except Exception as exc:  # noqa: BLE001 - a foreign message may hold personal data
        said = scrub_identities(str(exc))
        raise CheckFailed(f"extract failed: {type(exc).__name__}: {said}") from None
    return {
        "step": answer.step,
        "state": answer.state,
        "source": answer.source,
        "found": answer.found,
        "counts": answer.counts,
        "third_party": answer.third_party,
        "waiting_for": answer.waiting_for,
        "files": {k: str(v) for k, v in answer.files.items()},
    }


#: A request id as the server checks it: Prefect's server enforces a parameter's `pattern`
#: (not its `format`) before it creates a run, so anything else is refused, never stored.
RequestId = Annotated[
    UUID,
    Field(json_schema_extra={"pattern": "^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$"}),
]


@flow(name="extract-person-register")
@masked_errors
def extract_person_register(request_id: RequestId) -> dict[str, Any]:
    """Take one person's request (registerutdrag, GDPR art. 15, or a TF request) one step
    further.

    `request_id` is the opaque id (a UUID) printed by `samsa-decom extract request`; the
    server refuses anything else, so a personnummer pasted here is never stored. The person's
    identity stays in the ledger. A registered request gets its review copy
    (granskningsexemplar) and goes under prövning; once the case officer's secrecy review is
    approved (`samsa-decom extract approve`), the citizen's version (HTML, PDF, JSON in
    Swedish) is released; until then the run says what it waits for. Files are readable by
    samsa-decom's user only.
    """
    from models.extract_case import STATE_SV
    from models.ledger.extracts import RequestState

    keep_new_files_private()
    rid = str(request_id)
    with _open_ledger() as ledger:
        result = answer_request_task(ledger, rid)
    counts = ", ".join(f"{k}: {v}" for k, v in result["counts"].items())
    state = STATE_SV[RequestState(result["state"])] if result["state"] else ""
    step = {"review": "granskningsexemplar skrivet", "released": "utdraget lämnat",
            "waiting": "väntar"}[result["step"]]  # fmt: skip
    get_run_logger().info("request %s: %s (%s)", rid, step, state)
    lines = [f"# Registerutdrag, begäran `{rid}`", f"- Steg: {step}", f"- Status: {state}"]
    if result["step"] == "waiting":
        lines.append(f"- Väntar på: {result['waiting_for']}")
    else:
        source = "SAMSA:s databas" if result["source"] == "live" else "arkivpaketet"
        lines += [f"- Källa: {source}", f"- Uppgifter funna: {'ja' if result['found'] else 'nej'}",
                  f"- Antal: {counts}"]  # fmt: skip
        if result["third_party"]:
            lines.append("- Att sekretesspröva: " + ", ".join(
                f"{k} {v}" for k, v in result["third_party"].items()))  # fmt: skip
        lines += [f"- {k.upper()}: `{v}`" for k, v in result["files"].items()]
    create_markdown_artifact(
        key=f"registerutdrag-{rid}",
        markdown="\n".join(lines),
        description="Ärendet om registerutdrag (inga personuppgifter här).",
    )
    return result


class ReleaseDecision(DecisionForm):
    """The decision on releasing one person's register extract after the secrecy review."""

    approver: PersonName = Field(
        title="Ditt namn (beslutsfattare)",
        description="Namnet som skrivs i beslutsloggen som den som beslutade om utlämnandet.",
        min_length=1,
        max_length=200,
    )
    approved: bool = Field(
        default=False,
        title="Utlämnandet godkänns",
        description="Kryssa i om utdraget får lämnas ut efter sekretessprövningen som visas "
        "ovan. Lämna tomt för att inte godkänna (handläggaren prövar då igen).",
    )
    comment: MaskedComment = Field(
        default="",
        title="Kommentar",
        description="Frivillig motivering; sparas i beslutsloggen. Skriv inga personnummer.",
        max_length=2000,
    )
    code: OneTimeCode = Field(
        default="",
        title="Engångskod",
        description="Koden som skickades till din egen kanal (e-post/chatt) när formuläret "
        "öppnades, t.ex. ABCD-EFGH. Gäller en gång.",
        max_length=20,
    )


@flow(name="approve-extract-release")
@masked_errors
def approve_extract_release(request_id: RequestId, timeout_seconds: int = 3600) -> str:
    """Decide on releasing one person's register extract (registerutdrag) after the case
    officer's secrecy review (OSL 25 kap. 1 §).

    The run pauses with a form (Resume in the UI) showing the case: its kind, "Klart senast"
    and what the review withholds (no personal data). The decision is recorded in the
    beslutslogg for the review the form showed; if the review changes while the form is open,
    the answer does not count. Then `extract-person-register` (or `samsa-decom extract
    release`) releases it.
    """
    rid = str(request_id)
    with _open_ledger() as ledger:
        return _decide_release(ledger, rid, timeout_seconds)


def _decide_release(ledger: Ledger, rid: str, timeout_seconds: int) -> str:
    from prefect.flow_runs import pause_flow_run

    from models.extract_case import IN_REVIEW, KIND_SV, STATE_SV, RequestKind
    from tasks.extracts.case import approve_release, release_subject, send_release_code
    from tasks.extracts.requests import get_request
    from tasks.extracts.review import CATEGORY_SV, Category

    req = get_request(ledger, rid)
    if req.state not in IN_REVIEW:
        raise CheckFailed(f"begäran {rid} är {STATE_SV[req.state]}: inget utlämnande att besluta")
    wait = ledger.wait_in_progress(release_subject(rid))
    if wait is None:
        raise CheckFailed(f"utlämnandet av begäran {rid} väntar inte på något beslut")
    withheld = [
        f"- {CATEGORY_SV[Category(w.category)]}: {w.item or 'hela kategorin'} ({w.ground})"
        for w in ledger.deliveries.withholdings(rid)
    ]
    hsa = "visas" if req.show_staff_hsa else "visas inte"
    sent = send_release_code(ledger, rid)  # to the approver's own channel, for this wait
    if sent is not None:
        get_run_logger().info("one-time code sent to the tag %s", sent.issued.channel)
    key = f"utlamnande-{_run_id() or rid}"
    answer = pause_flow_run(
        wait_for_input=ReleaseDecision.with_initial_data(
            description="\n".join(
                [
                    f"**Registerutdrag, begäran `{rid}`** ({KIND_SV[RequestKind(req.kind)]}, "
                    f"{STATE_SV[req.state]}, Klart senast {req.deadline.isoformat()})",
                    "",
                    "Sekretessprövningen lämnar inte ut:",
                    *(withheld or ["- inget"]),
                    f"- Personalens HSA-id {hsa}.",
                ]
            ),
            approved=False,
        ),
        timeout=timeout_seconds,
        key=key,
    )
    forget_stored_answer(key)  # the stored answer holds the one-time code as typed
    a = approve_release(ledger, rid, approver=answer.approver, approved=answer.approved,
                        comment=answer.comment, expected_wait=wait,
                        flow_run_id=_run_id(), code=answer.code)  # fmt: skip
    said = "godkänt" if a.approved else "inte godkänt"
    get_run_logger().info("release of request %s %s", rid, "approved" if a.approved else "refused")
    return f"utlämnandet {said} av {a.approver}"


# -- the reconciler's action -------------------------------------------------------------------
def extracts_action(ctx: ActionContext) -> ActionResult:
    """Milestone action "extracts": all organisations' bags delivered, then wait for receipts.

    First call produces and delivers; later calls only look for receipts. In a rehearsal the
    bags are written (and checked) under the extracts folder but neither delivered nor recorded.
    """
    from tasks.extracts.delivery import awaiting_receipt, current_deliveries, scan_receipts

    settings = get_settings()
    if ctx.rehearse:
        from tasks.extracts.orgs import write_org_bags
        from tasks.extracts.source import open_source

        keep_new_files_private()

        src = open_source(ctx.params.get("source_url") or settings.resolved_source_url(), None)
        try:
            bags = write_org_bags(src, settings.resolved_extracts_dir() / "rehearsal")
        finally:
            src.close()
        return ActionResult(
            done=True,
            summary=f"Genrepetition: {len(bags)} paket skrivna, inget levererat.",
            details={"bags": len(bags), "records": sum(b.records for b in bags)},
        )
    with Ledger.open(ctx.ledger_url) as ledger:
        if not current_deliveries(ledger) or ctx.params.get("refresh"):
            deliver_register_extracts(
                source_url=ctx.params.get("source_url"), archive=ctx.params.get("archive")
            )
        else:
            scan_receipts(ledger)
        waiting = awaiting_receipt(ledger)
        total = len(current_deliveries(ledger))
    if waiting:
        return ActionResult(
            done=False,
            waiting=True,
            summary=f"{total - len(waiting)} av {total} organisationer har kvitterat sitt paket.",
            details={"awaiting": [w.org_id for w in waiting]},
        )
    return ActionResult(done=True, summary=f"Alla {total} organisationer har kvitterat.")


def person_extracts_action(ctx: ActionContext) -> ActionResult:
    """Milestone action "person-extracts" (the register-extract routine works from the archive).

    Takes every open case a step further, each as its own ``extract-person-register`` run
    (request id only): a review copy for a registered request, the release of an approved
    one. Done once at least one request has been released from the archive package; until
    then it waits (register a real request with ``samsa-decom extract request``; with
    ``SAMSA_DECOM_EXTRACT_PERSON_SOURCE=archive`` or SAMSA switched off it is answered from
    the archive). In a rehearsal nothing is answered.
    """
    with Ledger.open(ctx.ledger_url) as ledger:
        open_ids = [r.request_id for r in ledger.deliveries.open_requests()]
        if ctx.rehearse:
            return ActionResult(
                done=True, summary=f"Genrepetition: {len(open_ids)} öppna begäranden."
            )
        for request_id in open_ids:
            extract_person_register(UUID(request_id))
        from_archive = ledger.deliveries.answered_from_archive()
    summary = f"{len(open_ids)} begäranden besvarade nu; {from_archive} totalt ur arkivet."
    if not from_archive:
        return ActionResult(
            done=False, waiting=True,
            summary=summary + " Väntar på en begäran som besvaras ur arkivpaketet.",
            details={"answered": open_ids},
        )  # fmt: skip
    return ActionResult(done=True, summary=summary, details={"answered": open_ids})


if __name__ == "__main__":  # pragma: no cover - run once locally
    print(deliver_register_extracts())
