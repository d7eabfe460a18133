"""Register-extract commands: ``samsa-decom extract orgs|person|request|receipt|status|purge``
(each organisation's uttag, and one person's registerutdrag) and the case (ärende) of one
person's begäran: ``extract review|extend|withhold|hsa|approve|release|refuse|case``.

Utskrifterna är på svenska; engelska med SAMSA_DECOM_LANGUAGE=en (or ``--lang sv|en`` on each
command; another language is bad input, exit 2). Every line goes through the CLI's catalogue
(:mod:`deploy.cli.words`; this module's words are in :mod:`deploy.cli.extract_words`); ids,
dates, paths and numbers are printed unchanged. A legal decision's text (an avslag) is shown
as the person gets it, in Swedish.

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

from deploy.cli.extract_words import WORDS
from deploy.cli.words import add, language, say
from models import clock
from models.errors import InputError
from models.settings import get_settings

add(WORDS)

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
LANG_HELP = "sv eller en (standard: SAMSA_DECOM_LANGUAGE, annars sv)."


def _ledger(url: str | None):  # type: ignore[no-untyped-def]
    from models.ledger import Ledger

    return Ledger.open(url or get_settings().resolved_ledger_url())


def _one_source(source: str | None, archive: Path | None, lang: str) -> None:
    if bool(source) == bool(archive):
        raise InputError(say("x_one_source", lang))


@extract_app.command("orgs")
def extract_orgs(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the bags (one per org).")],
    source: str = typer.Option(None, "--source", help=SOURCE_HELP),
    archive: Annotated[Path | None, typer.Option("--archive", help=ARCHIVE_HELP)] = None,
    org: str = typer.Option(None, "--org", help="Only this organisation (its id)."),
    deliver: bool = typer.Option(False, "--deliver", help="Also deliver to the drops."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Write each organisation's records as a BagIt bag (CSV + JSON + Swedish README)."""
    import time

    from tasks.extracts.service import default_drops, deliver_and_collect, produce_org_bags

    lg = language(lang)
    _one_source(source, archive, lg)
    with _ledger(ledger_url) as ledger:
        t0 = time.perf_counter()
        bags = produce_org_bags(ledger, out_dir, source_url=source, archive=archive, org=org)
        seconds = time.perf_counter() - t0
        table = Table(*(say(k, lg) for k in ("x_col_org", "x_col_name", "x_col_records",
                                             "x_col_bag", "x_col_sha")))  # fmt: skip
        for b in bags:
            table.add_row(
                b.org.id, b.org.name, f"{b.records:,}", b.bag.path.name, b.bag.sha256[:16]
            )
        out.print(table)
        total = sum(b.records for b in bags)
        out.print(say("x_bags_made", lg, n=len(bags), records=f"{total:,}",
                      seconds=f"{seconds:.1f}", out=out_dir))  # fmt: skip
        if deliver:
            report = deliver_and_collect(
                ledger, default_drops(), source_url=source, archive=archive
            )
            out.print(say("x_delivered", lg, n=len(report.delivered),
                          receipts=len(report.receipts)))  # fmt: skip


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
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Register a person's request (registrerad); prints its opaque request id, its kind and
    the day it must be decided by (use the id in Prefect and in the case commands)."""
    from models.extract_case import parse_kind
    from tasks.extracts.requests import read_request_file, register_request

    lg = language(lang)
    day = _day(received, lg)
    request_kind = parse_kind(kind)
    identities = read_request_file(file)
    with _ledger(ledger_url) as ledger:
        for ident in identities:
            req = register_request(ledger, ident, received_on=day, registered_by=by,
                                   kind=request_kind)  # fmt: skip
            out.print(say("x_registered", lg, id=req.request_id, masked=ident.masked,
                          kind=request_kind.value, deadline=req.deadline.isoformat()))  # fmt: skip


def _day(text: str | None, lang: str, option: str = "--received") -> date:
    if not text:
        return clock.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(say("x_not_a_date", lang, option=option, text=text)) from None


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
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Start a person's case and write the case officer's review copy (granskningsexemplar)
    from the database or the archive. Nothing is released: the citizen's version comes with
    `extract release`, after the secrecy review and an approval."""
    from models.extract_case import parse_kind
    from tasks.extracts.requests import read_request_file, register_request
    from tasks.extracts.service import prepare_review

    lg = language(lang)
    request_kind = parse_kind(kind)
    if bool(file) == bool(request_id):
        raise InputError(say("x_file_or_request", lg))
    _one_source(source, archive, lg)
    ident = None
    if file is not None:  # exit 2 before anything is opened
        identities = read_request_file(file)
        if len(identities) != 1:
            raise InputError(say("x_one_identity", lg, file=file, n=len(identities)))
        ident = identities[0]
    with _ledger(ledger_url) as ledger:
        if ident is not None:
            request_id = register_request(ledger, ident, registered_by=by,
                                          kind=request_kind).request_id  # fmt: skip
        assert request_id is not None
        answer = prepare_review(ledger, request_id, by=by or "samsa-decom extracts",
                                out_dir=out_dir, source_url=source, archive=archive)  # fmt: skip
        _print_answer(answer, lg)


def _print_answer(answer: Any, lang: str) -> None:
    from models.extract_case import state_label

    found = say("x_found" if answer.found else "x_not_found", lang)
    where = say("x_from_live" if answer.source == "live" else "x_from_archive", lang)
    state = state_label(answer.state, lang) if answer.state else ""
    what = say("x_review_written" if answer.step == "review" else "x_released", lang)
    out.print(say("x_answer", lang, id=answer.request_id, what=what, state=state, found=found,
                  where=where))  # fmt: skip
    out.print(", ".join(f"{t} {n}" for t, n in answer.counts.items()))
    if answer.third_party:
        items = ", ".join(f"{c} {n}" for c, n in answer.third_party.items())
        out.print(say("x_to_review", lang, items=items))
    for kind, path in answer.files.items():
        out.print(f"  {kind}: {path}")
    for note in answer.notes:
        out.print(say("x_note", lang, note=note), style="yellow")


@extract_app.command("receipt")
def extract_receipt(
    sha256: str = typer.Option(None, "--sha256", help="The bag's checksum the recipient names."),
    by: str = typer.Option(None, "--by", help="Who confirms the receipt."),
    comment: str = typer.Option("", "--comment"),
    scan: bool = typer.Option(False, "--scan", help="Look for receipt files in the drops."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Confirm a delivered bag's receipt by its checksum, or scan the drops for receipt files."""
    from tasks.extracts.delivery import confirm_receipt, scan_receipts

    lg = language(lang)
    with _ledger(ledger_url) as ledger:
        if scan:
            result = scan_receipts(ledger)
            ids = ", ".join(result.confirmed) or say("x_none", lg)
            out.print(say("x_receipts_scanned", lg, ids=ids))
            for p in result.problems:
                out.print(f"[yellow]{p}[/]")
            return
        if not sha256 or not by:
            raise InputError(say("x_receipt_needs", lg))
        rec = confirm_receipt(ledger, sha256, by=by, via="cli", comment=comment)
        out.print(say("x_receipt_confirmed", lg, org=rec.org_name, bag=rec.bag_name,
                      by=rec.receipt_by))  # fmt: skip


@extract_app.command("status")
def extract_status(
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Deliveries and their receipts; open person requests with their deadlines."""
    from tasks.extracts.delivery import current_deliveries

    lg = language(lang)
    with _ledger(ledger_url) as ledger:
        table = Table(*(say(k, lg) for k in ("x_col_org", "x_col_name", "x_col_state",
                                             "x_col_records", "x_col_sha256", "x_col_delivered",
                                             "x_col_receipt")))  # fmt: skip
        for oid, d in sorted(current_deliveries(ledger).items()):
            table.add_row(
                oid, d.org_name, say(f"x_delivery_{d.state.value}", lg), str(d.records),
                d.sha256[:16],
                d.delivered_at.strftime("%Y-%m-%d") if d.delivered_at else "",
                d.receipt_by or "",
            )  # fmt: skip
        out.print(table)
        _open_cases(ledger, lg)


def _days_left(deadline: date, lang: str) -> str:
    days = (deadline - clock.today()).days
    if days < 0:
        return say("x_deadline_passed", lang, n=-days)
    return say("x_deadline_today", lang) if days == 0 else say("x_deadline_in", lang, n=days)


def _open_cases(ledger: Any, lang: str) -> None:
    from models.extract_case import state_label

    cases = ledger.deliveries.open_requests()
    if not cases:
        out.print(say("x_no_open_cases", lang))
        return
    out.print(say("x_open_cases", lang))
    for r in cases:
        out.print(say("x_open_case", lang, id=r.request_id, kind=r.kind,
                      state=state_label(r.state, lang), received=r.received_on.isoformat(),
                      deadline=r.deadline.isoformat(),
                      left=_days_left(r.deadline, lang)))  # fmt: skip


@extract_app.command("purge")
def extract_purge(
    as_of: str = typer.Option(None, "--as-of", help="The day to count from (default: today)."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Delete the identity of every person request answered longer ago than the retention
    period (SAMSA_DECOM_PERSON_REQUEST_RETENTION_DAYS); the requests themselves stay."""
    from tasks.extracts.requests import delete_identities

    lg = language(lang)
    day = _day(as_of, lg, "--as-of")
    days = get_settings().person_request_retention_days
    with _ledger(ledger_url) as ledger:
        deleted = delete_identities(ledger, as_of=day, retention_days=days)
    out.print(say("x_purged", lg, n=len(deleted), days=days, day=day))
    for request_id in deleted:
        out.print(f"  {request_id}")


# -- the case of one person's request (the case officer reads it) -----------------------------
REQUEST_ARG = typer.Argument(..., help="Begärans id (UUID) från `extract request`.")
BY_HELP = "Ditt namn (handläggaren); skrivs i beslutsloggen."
LEDGER_HELP = "Ledger URL (default from settings)."


def _maybe_source(source: str | None, archive: Path | None, lang: str) -> None:
    if source and archive:
        raise InputError(say("x_at_most_one_source", lang))


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
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Pröva begäran: registrerad → under prövning, och skriv granskningsexemplaret med varje
    uppgift om tredje man märkt för sekretessprövningen (OSL 25 kap. 1 §)."""
    from tasks.extracts.service import prepare_review

    lg = language(lang)
    _maybe_source(source, archive, lg)
    with _ledger(ledger_url) as ledger:
        _print_answer(prepare_review(ledger, request_id, by=by, out_dir=out_dir,
                                     source_url=source, archive=archive), lg)  # fmt: skip


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
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Förläng tidsfristen med två månader (GDPR art. 12.3): bara för registerutdrag, och
    bara om den enskilde fick besked med skäl inom den första månaden."""
    from tasks.extracts.case import extend

    lg = language(lang)
    notice_on = _day(notice_sent, lg, "--notice-sent")
    with _ledger(ledger_url) as ledger:
        req = extend(ledger, request_id, notice_sent_on=notice_on, reason=reason, by=by)
    out.print(say("x_extended", lg, id=request_id, notice=notice_on,
                  deadline=req.deadline.isoformat()))  # fmt: skip


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
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Sekretesspröva: lämna inte ut en kategori av uppgifter om tredje man, eller en enskild
    uppgift. Ett godkännande som gavs före ändringen gäller inte längre."""
    from tasks.extracts.case import withhold
    from tasks.extracts.review import parse_category

    lg = language(lang)
    cat = parse_category(category)
    with _ledger(ledger_url) as ledger:
        row = withhold(ledger, request_id, category=cat, item=item, ground=ground, by=by)
    what = (say("x_withheld_item", lg, item=row.item) if row.item
            else say("x_withheld_category", lg, category=row.category))  # fmt: skip
    out.print(say("x_withheld", lg, id=request_id, what=what, ground=row.ground),
              markup=False)  # fmt: skip


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
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Besluta om personalens HSA-id ska stå i medborgarens version av åtkomstloggen."""
    from tasks.extracts.case import set_staff_hsa

    lg = language(lang)
    with _ledger(ledger_url) as ledger:
        set_staff_hsa(ledger, request_id, show=show, by=by)
    shown = say("x_hsa_shown" if show else "x_hsa_hidden", lg)
    out.print(say("x_hsa", lg, id=request_id, shown=shown))


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
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Godkänn utlämnandet efter sekretessprövningen: ett beslut i beslutsloggen som gäller
    just den prövning som pågår, bekräftat med engångskoden till godkännarens egen kanal."""
    from models.errors import InputError
    from tasks.extracts.case import approve_release, release_channel, send_release_code

    lg = language(lang)
    with _ledger(ledger_url) as ledger:
        if release_channel() is not None and not (code or "").strip():
            sent = send_release_code(ledger, request_id)
            where = (say("x_code_sent", lg, channel=sent.issued.channel) if sent is not None
                     else say("x_code_valid", lg))  # fmt: skip
            raise InputError(say("x_code_needed", lg, id=request_id, where=where))
        a = approve_release(ledger, request_id, approver=approver, approved=not refuse,
                            comment=comment, code=code)  # fmt: skip
    said = say("x_approved" if a.approved else "x_not_approved", lg)
    out.print(say("x_decided", lg, id=request_id, said=said, approver=a.approver,
                  seq=a.audit_seq))  # fmt: skip


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
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Lämna ut medborgarens version, bara med ett godkännande av den prövning som pågår:
    ärendet blir lämnat, eller delvis avslag med ett skriftligt beslut."""
    from tasks.extracts.service import release_request

    lg = language(lang)
    _maybe_source(source, archive, lg)
    with _ledger(ledger_url) as ledger:
        _print_answer(release_request(ledger, request_id, out_dir=out_dir, source_url=source,
                                      archive=archive, reasons=reasons), lg)  # fmt: skip


@extract_app.command("refuse")
def extract_refuse(
    request_id: str = REQUEST_ARG,
    reasons: str = typer.Option(..., "--reasons", help="Skälen för avslaget."),
    by: str = typer.Option(..., "--by", help="Den som beslutar; skrivs i beslutet."),
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Avslå hela begäran: ett skriftligt beslut med överklagandehänvisning."""
    from tasks.extracts.case import refuse

    lg = language(lang)
    with _ledger(ledger_url) as ledger:
        req = refuse(ledger, request_id, by=by, reasons=reasons)
    out.print(say("x_refused", lg, id=request_id))
    out.print(req.decision_text, markup=False, highlight=False)


@extract_app.command("case")
def extract_case(
    request_id: str = REQUEST_ARG,
    ledger_url: str = typer.Option(None, "--ledger", help=LEDGER_HELP),
    lang: str = typer.Option(None, "--lang", help=LANG_HELP),
) -> None:
    """Visa ärendet: typ, status, Klart senast, sekretessprövningen och beslutet."""
    from models.extract_case import assumptions, kind_label, state_label
    from tasks.extracts.case import release_subject
    from tasks.extracts.deadlines import is_open
    from tasks.extracts.requests import get_request

    lg = language(lang)
    with _ledger(ledger_url) as ledger:
        req = get_request(ledger, request_id)
        rows = ledger.deliveries.withholdings(request_id)
        subject = release_subject(request_id)
        wait = ledger.wait_in_progress(subject)
        approval = ledger.approval_for_wait(subject, wait) if wait is not None else None
    out.print(say("x_case", lg, id=req.request_id))
    out.print(say("x_case_kind", lg, kind=kind_label(req.kind, lg)))
    out.print(say("x_case_state", lg, state=state_label(req.state, lg)))
    out.print(say("x_case_received", lg, day=req.received_on.isoformat()))
    line = say("x_case_deadline", lg, day=req.deadline.isoformat())
    out.print(line + (f" ({_days_left(req.deadline, lg)})" if is_open(req) else ""))
    if req.extension_notice_on:
        out.print(say("x_case_extended", lg, day=req.extension_notice_on.isoformat()),
                  markup=False)  # fmt: skip
    for w in rows:
        what = w.item or say("x_whole_category", lg)
        out.print(say("x_case_withheld", lg, category=w.category, what=what, ground=w.ground,
                      by=w.decided_by), markup=False)  # fmt: skip
    shown = say("x_hsa_shown" if req.show_staff_hsa else "x_hsa_hidden", lg)
    out.print(say("x_case_hsa", lg, shown=shown))
    if is_open(req) and req.state.value != "registered":
        if approval is None:
            out.print(say("x_case_awaits", lg))
        else:
            said = say("x_approved" if approval.approved else "x_not_approved", lg)
            out.print(say("x_case_release", lg, said=said, approver=approval.approver),
                      markup=False)  # fmt: skip
    if req.decision_text:
        out.print(say("x_case_decision", lg))
        out.print(req.decision_text, markup=False, highlight=False)
    out.print(say("x_case_assumptions", lg))
    for a in assumptions(lg):
        out.print(f"  * {a}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(extract_app, name="extract")
