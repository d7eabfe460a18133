"""Register-extract commands: ``samsa-decom extract orgs|person|request|receipt|status|purge``
and the case of one person's request (output in Swedish, for the case officer):
``extract review|extend|withhold|hsa|approve|release|refuse|case``.

A person's identity is given only in a file or on standard input (``--file -``), never on the
command line where ``ps`` and the shell history would show it, and is stored only in the
ledger; everything else names the request by its opaque id. Errors never echo the identity.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from models import clock
from models.errors import InputError
from models.settings import get_settings

extract_app = typer.Typer(
    help="Register extracts: each organisation's bag, and one person's extract (registerutdrag).",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)  # a line stays one line (ids and dates are searched for)

SOURCE_HELP = "SAMSA's database (SQLAlchemy URL)."
FILE_HELP = (
    "File with personnummer, samordningsnummer or VGR reserve numbers, one a line; "
    "- reads standard input."
)
ARCHIVE_HELP = "The archive package (folder) or its .siard file, after shutdown."


def _ledger(url: str | None):  # type: ignore[no-untyped-def]
    from models.ledger import Ledger

    return Ledger.open(url or get_settings().resolved_ledger_url())


def _one_source(source: str | None, archive: Path | None) -> None:
    if bool(source) == bool(archive):
        raise InputError("give exactly one of --source URL and --archive PACKAGE")


@extract_app.command("orgs")
def extract_orgs(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the bags (one per org).")],
    source: str = typer.Option(None, "--source", help=SOURCE_HELP),
    archive: Annotated[Path | None, typer.Option("--archive", help=ARCHIVE_HELP)] = None,
    org: str = typer.Option(None, "--org", help="Only this organisation (its id)."),
    deliver: bool = typer.Option(False, "--deliver", help="Also deliver to the drops."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Write each organisation's records as a BagIt bag (CSV + JSON + Swedish README)."""
    import time

    from tasks.extracts.service import default_drops, deliver_and_collect, produce_org_bags

    _one_source(source, archive)
    with _ledger(ledger_url) as ledger:
        t0 = time.perf_counter()
        bags = produce_org_bags(ledger, out_dir, source_url=source, archive=archive, org=org)
        seconds = time.perf_counter() - t0
        table = Table("org", "name", "records", "bag", "sha256 (tagmanifest)")
        for b in bags:
            table.add_row(
                b.org.id, b.org.name, f"{b.records:,}", b.bag.path.name, b.bag.sha256[:16]
            )
        out.print(table)
        total = sum(b.records for b in bags)
        out.print(f"{len(bags)} bags, {total:,} records, {seconds:.1f} s → {out_dir}")
        if deliver:
            report = deliver_and_collect(
                ledger, default_drops(), source_url=source, archive=archive
            )
            out.print(
                f"delivered {len(report.delivered)} bags; {len(report.receipts)} receipts found"
            )


KIND_HELP = (
    "Typ av begäran: gdpr-art15 (registerutdrag, en månad), tf-allman-handling (allmän "
    "handling, skyndsamt) eller tf-avliden (avliden person: TF, GDPR gäller inte)."
)


@extract_app.command("request")
def extract_request(
    file: Annotated[Path, typer.Option("--file", help=FILE_HELP)],
    received: str = typer.Option(None, "--received", help="Day received (YYYY-MM-DD; today)."),
    by: str = typer.Option("", "--by", help="Who registers the request."),
    kind: str = typer.Option("gdpr-art15", "--kind", help=KIND_HELP),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Register a person's request (registrerad); prints its opaque request id, its kind and
    the day it must be decided by (use the id in Prefect and in the case commands)."""
    from models.extract_case import parse_kind
    from tasks.extracts.requests import read_request_file, register_request

    day = _day(received)
    request_kind = parse_kind(kind)
    identities = read_request_file(file)
    with _ledger(ledger_url) as ledger:
        for ident in identities:
            req = register_request(ledger, ident, received_on=day, registered_by=by,
                                   kind=request_kind)  # fmt: skip
            out.print(f"{req.request_id}  {ident.masked}  {request_kind.value}  "
                      f"Klart senast {req.deadline.isoformat()}")  # fmt: skip


def _day(text: str | None) -> date:
    if not text:
        return clock.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--received {text!r}: not a date (YYYY-MM-DD)") from None


@extract_app.command("person")
def extract_person(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the JSON, HTML and PDF.")],
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="File with one identity (registers a request); - reads standard input."
        ),
    ] = None,  # fmt: skip
    request_id: str = typer.Option(None, "--request", help="Answer this registered request."),
    source: str = typer.Option(None, "--source", help=SOURCE_HELP),
    archive: Annotated[Path | None, typer.Option("--archive", help=ARCHIVE_HELP)] = None,
    by: str = typer.Option("", "--by", help="Who registers the request."),
    kind: str = typer.Option("gdpr-art15", "--kind", help=KIND_HELP),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Start a person's case and write the case officer's review copy (granskningsexemplar)
    from the database or the archive. Nothing is released: the citizen's version comes with
    `extract release`, after the secrecy review and an approval."""
    from models.extract_case import parse_kind
    from tasks.extracts.requests import read_request_file, register_request
    from tasks.extracts.service import prepare_review

    request_kind = parse_kind(kind)
    if bool(file) == bool(request_id):
        raise InputError("give exactly one of --file PATH (- for standard input) and --request ID")
    _one_source(source, archive)
    ident = None
    if file is not None:  # exit 2 before anything is opened
        identities = read_request_file(file)
        if len(identities) != 1:
            raise InputError(
                f"--file {file}: {len(identities)} identities; give one here, or register "
                "several with `samsa-decom extract request --file`"
            )
        ident = identities[0]
    with _ledger(ledger_url) as ledger:
        if ident is not None:
            request_id = register_request(ledger, ident, registered_by=by,
                                          kind=request_kind).request_id  # fmt: skip
        assert request_id is not None
        answer = prepare_review(ledger, request_id, by=by or "samsa-decom extracts",
                                out_dir=out_dir, source_url=source, archive=archive)  # fmt: skip
        _print_answer(answer)


def _print_answer(answer: Any) -> None:
    from models.extract_case import STATE_SV
    from models.ledger.extracts import RequestState

    found = "uppgifter funna" if answer.found else "INGA uppgifter i SAMSA"
    where = "SAMSA:s databas" if answer.source == "live" else "arkivpaketet"
    state = STATE_SV[RequestState(answer.state)] if answer.state else ""
    what = "granskningsexemplar skrivet" if answer.step == "review" else "utdraget lämnat"
    out.print(f"begäran {answer.request_id}: {what} ({state}); {found}, ur {where}")
    out.print(", ".join(f"{t} {n}" for t, n in answer.counts.items()))
    if answer.third_party:
        out.print("att sekretesspröva: " + ", ".join(f"{c} {n}" for c, n in
                                                     answer.third_party.items()))  # fmt: skip
    for kind, path in answer.files.items():
        out.print(f"  {kind}: {path}")
    for note in answer.notes:
        out.print(f"[yellow]OBS: {note}[/]")


@extract_app.command("receipt")
def extract_receipt(
    sha256: str = typer.Option(None, "--sha256", help="The bag's checksum the recipient names."),
    by: str = typer.Option(None, "--by", help="Who confirms the receipt."),
    comment: str = typer.Option("", "--comment"),
    scan: bool = typer.Option(False, "--scan", help="Look for receipt files in the drops."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Confirm a delivered bag's receipt by its checksum, or scan the drops for receipt files."""
    from tasks.extracts.delivery import confirm_receipt, scan_receipts

    with _ledger(ledger_url) as ledger:
        if scan:
            result = scan_receipts(ledger)
            out.print(f"receipts confirmed: {', '.join(result.confirmed) or 'none'}")
            for p in result.problems:
                out.print(f"[yellow]{p}[/]")
            return
        if not sha256 or not by:
            raise InputError("give --sha256 and --by (or --scan)")
        rec = confirm_receipt(ledger, sha256, by=by, via="cli", comment=comment)
        out.print(f"receipt confirmed: {rec.org_name} ({rec.bag_name}) by {rec.receipt_by}")


@extract_app.command("status")
def extract_status(
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Deliveries and their receipts; open person requests with their deadlines."""
    from tasks.extracts.delivery import current_deliveries

    with _ledger(ledger_url) as ledger:
        table = Table("org", "name", "state", "records", "sha256", "delivered", "receipt")
        for oid, d in sorted(current_deliveries(ledger).items()):
            table.add_row(
                oid, d.org_name, d.state.value, str(d.records), d.sha256[:16],
                d.delivered_at.strftime("%Y-%m-%d") if d.delivered_at else "",
                d.receipt_by or "",
            )  # fmt: skip
        out.print(table)
        _open_cases(ledger)


def _days_left(deadline: date) -> str:
    days = (deadline - clock.today()).days
    if days < 0:
        return f"tidsfristen gick ut för {-days} dagar sedan"
    return "tidsfristen går ut i dag" if days == 0 else f"Tidsfristen går ut om {days} dagar"


def _open_cases(ledger: Any) -> None:
    from models.extract_case import STATE_SV

    cases = ledger.deliveries.open_requests()
    if not cases:
        out.print("Inga öppna ärenden om registerutdrag.")
        return
    out.print("Öppna ärenden om registerutdrag (begäran, typ, status, inkom, Klart senast):")
    for r in cases:
        out.print(f"  {r.request_id}  {r.kind}  {STATE_SV[r.state]}  inkom "
                  f"{r.received_on.isoformat()}  Klart senast {r.deadline.isoformat()}: "
                  f"{_days_left(r.deadline)}")  # fmt: skip


@extract_app.command("purge")
def extract_purge(
    as_of: str = typer.Option(None, "--as-of", help="The day to count from (default: today)."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Delete the identity of every person request answered longer ago than the retention
    period (SAMSA_DECOM_PERSON_REQUEST_RETENTION_DAYS); the requests themselves stay."""
    from tasks.extracts.requests import delete_identities

    try:
        day = date.fromisoformat(as_of) if as_of else clock.today()
    except ValueError:
        raise InputError(f"--as-of: not a date (YYYY-MM-DD): {as_of!r}") from None
    days = get_settings().person_request_retention_days
    with _ledger(ledger_url) as ledger:
        deleted = delete_identities(ledger, as_of=day, retention_days=days)
    out.print(f"identities deleted: {len(deleted)} (answered more than {days} days before {day})")
    for request_id in deleted:
        out.print(f"  {request_id}")


# -- the case of one person's request (Swedish output: the case officer reads it) -------------
REQUEST_ARG = typer.Argument(..., help="Begärans id (UUID) från `extract request`.")
BY_HELP = "Ditt namn (handläggaren); skrivs i beslutsloggen."
LEDGER_HELP = "Ledger URL (default from settings)."


def _maybe_source(source: str | None, archive: Path | None) -> None:
    if source and archive:
        raise InputError("ange högst en av --source URL och --archive PAKET")


@extract_app.command("review")
def extract_review(
    request_id: str = REQUEST_ARG,
    by: str = typer.Option(..., "--by", help=BY_HELP),
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Mapp för granskningsexemplaret.")
    ] = None,  # fmt: skip
    source: str = typer.Option(None, "--source", help=SOURCE_HELP),
    archive: Annotated[Path | None, typer.Option("--archive", help=ARCHIVE_HELP)] = None,
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
) -> None:
    """Pröva begäran: registrerad → under prövning, och skriv granskningsexemplaret med varje
    uppgift om tredje man märkt för sekretessprövningen (OSL 25 kap. 1 §)."""
    from tasks.extracts.service import prepare_review

    _maybe_source(source, archive)
    with _ledger(ledger_url) as ledger:
        _print_answer(prepare_review(ledger, request_id, by=by, out_dir=out_dir,
                                     source_url=source, archive=archive))  # fmt: skip


@extract_app.command("extend")
def extract_extend(
    request_id: str = REQUEST_ARG,
    notice_sent: str = typer.Option(
        ...,
        "--notice-sent",
        help="Dagen då den enskilde fick besked om förlängningen (YYYY-MM-DD).",
    ),  # fmt: skip
    reason: str = typer.Option(..., "--reason", help="Skälen, som de angavs i beskedet."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
) -> None:
    """Förläng tidsfristen med två månader (GDPR art. 12.3): bara för registerutdrag, och
    bara om den enskilde fick besked med skäl inom den första månaden."""
    from tasks.extracts.case import extend

    try:
        notice_on = date.fromisoformat(notice_sent)
    except ValueError:
        raise InputError(f"--notice-sent {notice_sent!r}: inte ett datum (YYYY-MM-DD)") from None
    with _ledger(ledger_url) as ledger:
        req = extend(ledger, request_id, notice_sent_on=notice_on, reason=reason, by=by)
    out.print(f"begäran {request_id}: förlängd; besked lämnat {notice_on}; Klart senast "
              f"{req.deadline.isoformat()}")  # fmt: skip


@extract_app.command("withhold")
def extract_withhold(
    request_id: str = REQUEST_ARG,
    category: str = typer.Option(
        ..., "--category", help="sip-deltagare, fritext eller personal."
    ),  # fmt: skip
    item: str = typer.Option(
        "",
        "--item",
        help="En enskild uppgift (tabell:id, se granskningsexemplaret); utan: hela kategorin.",
    ),  # fmt: skip
    ground: str = typer.Option("OSL 25 kap. 1 §", "--ground", help="Sekretessgrund."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
) -> None:
    """Sekretesspröva: lämna inte ut en kategori av uppgifter om tredje man, eller en enskild
    uppgift. Ett godkännande som gavs före ändringen gäller inte längre."""
    from tasks.extracts.case import withhold
    from tasks.extracts.review import parse_category

    cat = parse_category(category)
    with _ledger(ledger_url) as ledger:
        row = withhold(ledger, request_id, category=cat, item=item, ground=ground, by=by)
    what = f"uppgiften {row.item}" if row.item else f"hela kategorin {row.category}"
    out.print(f"begäran {request_id}: {what} lämnas inte ut ({row.ground}); "
              "utlämnandet behöver ett nytt godkännande")  # fmt: skip


@extract_app.command("hsa")
def extract_hsa(
    request_id: str = REQUEST_ARG,
    show: bool = typer.Option(
        False,
        "--show/--hide",
        help="Visa personalens HSA-id i medborgarens version (standard: visas inte).",
    ),  # fmt: skip
    by: str = typer.Option(..., "--by", help=BY_HELP),
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
) -> None:
    """Besluta om personalens HSA-id ska stå i medborgarens version av åtkomstloggen."""
    from tasks.extracts.case import set_staff_hsa

    with _ledger(ledger_url) as ledger:
        set_staff_hsa(ledger, request_id, show=show, by=by)
    out.print(f"begäran {request_id}: personalens HSA-id {'visas' if show else 'visas inte'}")


@extract_app.command("approve")
def extract_approve(
    request_id: str = REQUEST_ARG,
    approver: str = typer.Option(..., "--approver", help="Ditt namn; skrivs i beslutsloggen."),
    refuse: bool = typer.Option(False, "--refuse", help="Godkänn inte utlämnandet."),
    comment: str = typer.Option("", "--comment", help="Motivering (inga personnummer)."),
    code: str = typer.Option(
        None, "--code", help="Engångskoden som skickades till din egen kanal (e-post/chatt). "
        "Utan den skickas en ny kod om ingen giltig finns, och inget beslutas.",
    ),
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
) -> None:
    """Godkänn utlämnandet efter sekretessprövningen: ett beslut i beslutsloggen som gäller
    just den prövning som pågår, bekräftat med engångskoden till godkännarens egen kanal."""
    from models.errors import InputError
    from tasks.extracts.case import approve_release, release_channel, send_release_code

    with _ledger(ledger_url) as ledger:
        if release_channel() is not None and not (code or "").strip():
            sent = send_release_code(ledger, request_id)
            where = (f"en ny engångskod skickades till kanalen '{sent.issued.channel}'"
                     if sent is not None else "en giltig engångskod har redan skickats")  # fmt: skip
            raise InputError(f"begäran {request_id}: {where}; kör igen med --code KOD")
        a = approve_release(ledger, request_id, approver=approver, approved=not refuse,
                            comment=comment, code=code)  # fmt: skip
    said = "godkänt" if a.approved else "inte godkänt"
    out.print(f"begäran {request_id}: utlämnandet {said} av {a.approver} (beslutsloggen "
              f"post {a.audit_seq})")  # fmt: skip


@extract_app.command("release")
def extract_release(
    request_id: str = REQUEST_ARG,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Mapp för utdraget.")] = None,
    reasons: str = typer.Option(
        "", "--reasons", help="Skälen för ett delvis avslag (standard: OSL 25 kap. 1 §)."
    ),  # fmt: skip
    source: str = typer.Option(None, "--source", help=SOURCE_HELP),
    archive: Annotated[Path | None, typer.Option("--archive", help=ARCHIVE_HELP)] = None,
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
) -> None:
    """Lämna ut medborgarens version, bara med ett godkännande av den prövning som pågår:
    ärendet blir lämnat, eller delvis avslag med ett skriftligt beslut."""
    from tasks.extracts.service import release_request

    _maybe_source(source, archive)
    with _ledger(ledger_url) as ledger:
        _print_answer(release_request(ledger, request_id, out_dir=out_dir, source_url=source,
                                      archive=archive, reasons=reasons))  # fmt: skip


@extract_app.command("refuse")
def extract_refuse(
    request_id: str = REQUEST_ARG,
    reasons: str = typer.Option(..., "--reasons", help="Skälen för avslaget."),
    by: str = typer.Option(..., "--by", help="Den som beslutar; skrivs i beslutet."),
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
) -> None:
    """Avslå hela begäran: ett skriftligt beslut med överklagandehänvisning."""
    from tasks.extracts.case import refuse

    with _ledger(ledger_url) as ledger:
        req = refuse(ledger, request_id, by=by, reasons=reasons)
    out.print(f"begäran {request_id}: avslag. Beslutet:\n")
    out.print(req.decision_text, markup=False, highlight=False)


@extract_app.command("case")
def extract_case(
    request_id: str = REQUEST_ARG,
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
) -> None:
    """Visa ärendet: typ, status, Klart senast, sekretessprövningen och beslutet."""
    from models.extract_case import ASSUMPTIONS, KIND_SV, STATE_SV, RequestKind
    from tasks.extracts.case import release_subject
    from tasks.extracts.deadlines import is_open
    from tasks.extracts.requests import get_request

    with _ledger(ledger_url) as ledger:
        req = get_request(ledger, request_id)
        rows = ledger.deliveries.withholdings(request_id)
        subject = release_subject(request_id)
        wait = ledger.wait_in_progress(subject)
        approval = ledger.approval_for_wait(subject, wait) if wait is not None else None
    out.print(f"Begäran {req.request_id}")
    out.print(f"  Typ: {KIND_SV[RequestKind(req.kind)]}")
    out.print(f"  Status: {STATE_SV[req.state]}")
    out.print(f"  Inkom: {req.received_on.isoformat()}")
    line = f"  Klart senast: {req.deadline.isoformat()}"
    out.print(line + (f" ({_days_left(req.deadline)})" if is_open(req) else ""))
    if req.extension_notice_on:
        out.print(f"  Förlängd: besked lämnat {req.extension_notice_on.isoformat()}",
                  markup=False)  # fmt: skip
    for w in rows:
        what = w.item or "hela kategorin"
        out.print(f"  Lämnas inte ut: {w.category} {what} ({w.ground}; {w.decided_by})",
                  markup=False)  # fmt: skip
    out.print(f"  Personalens HSA-id: {'visas' if req.show_staff_hsa else 'visas inte'}")
    if is_open(req) and req.state.value != "registered":
        if approval is None:
            out.print("  Utlämnandet: väntar på godkännande (samsa-decom extract approve)")
        else:
            said = "godkänt" if approval.approved else "inte godkänt"
            out.print(f"  Utlämnandet: {said} av {approval.approver}")
    if req.decision_text:
        out.print("  Beslut:")
        out.print(req.decision_text, markup=False, highlight=False)
    out.print("Antaganden att bekräfta:")
    for a in ASSUMPTIONS:
        out.print(f"  * {a}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(extract_app, name="extract")
