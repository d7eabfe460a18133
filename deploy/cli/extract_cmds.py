"""Register-extract commands: ``samsa-decom extract orgs|person|request|answer|receipt|status|
purge``.

A person's identity is given only in a file or on standard input (``--file -``), never on the
command line where ``ps`` and the shell history would show it, and is stored only in the
ledger; everything else names the request by its opaque id. Errors never echo the identity.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

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
out = Console()

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
            table.add_row(b.org.id, b.org.name, f"{b.records:,}", b.bag.path.name,
                          b.bag.sha256[:16])
        out.print(table)
        total = sum(b.records for b in bags)
        out.print(f"{len(bags)} bags, {total:,} records, {seconds:.1f} s → {out_dir}")
        if deliver:
            report = deliver_and_collect(ledger, default_drops(), source_url=source,
                                         archive=archive)
            out.print(f"delivered {len(report.delivered)} bags; "
                      f"{len(report.receipts)} receipts found")


@extract_app.command("request")
def extract_request(
    file: Annotated[Path, typer.Option("--file", help=FILE_HELP)],
    received: str = typer.Option(None, "--received", help="Day received (YYYY-MM-DD; today)."),
    by: str = typer.Option("", "--by", help="Who registers the request."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Register a person's request; prints its opaque request id (use it in Prefect)."""
    from tasks.extracts.requests import read_request_file, register_request

    day = _day(received)
    identities = read_request_file(file)
    with _ledger(ledger_url) as ledger:
        for ident in identities:
            req = register_request(ledger, ident, received_on=day, registered_by=by)
            out.print(f"{req.request_id}  {ident.masked}  deadline {req.deadline.isoformat()}")


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
    file: Annotated[Path | None, typer.Option("--file", help="File with one identity "
                    "(registers a request); - reads standard input.")] = None,  # fmt: skip
    request_id: str = typer.Option(None, "--request", help="Answer this registered request."),
    source: str = typer.Option(None, "--source", help=SOURCE_HELP),
    archive: Annotated[Path | None, typer.Option("--archive", help=ARCHIVE_HELP)] = None,
    by: str = typer.Option("", "--by", help="Who registers the request."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Produce one person's extract (registerutdrag) now, from the database or the archive."""
    from tasks.extracts.requests import read_request_file, register_request
    from tasks.extracts.service import answer_request

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
            request_id = register_request(ledger, ident, registered_by=by).request_id
        assert request_id is not None
        answer = answer_request(ledger, request_id, out_dir=out_dir, source_url=source,
                                archive=archive)  # fmt: skip
        found = "found" if answer.found else "NOT FOUND in SAMSA"
        out.print(f"request {answer.request_id}: {found}, from {answer.source}")
        out.print(", ".join(f"{t} {n}" for t, n in answer.counts.items()))
        for kind, path in answer.files.items():
            out.print(f"  {kind}: {path}")


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
    from tasks.extracts.deadlines import open_deadlines
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
        for dl in open_deadlines(ledger, clock.today()):
            if dl.key.startswith("extract-request:"):
                out.print(f"open request {dl.key.split(':', 1)[1]}  due {dl.due.isoformat()}")


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


def register(app: typer.Typer) -> None:
    app.add_typer(extract_app, name="extract")
