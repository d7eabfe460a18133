"""Ledger commands: ``samsa-decom audit verify`` and ``samsa-decom audit show``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from models.errors import CheckFailed
from models.settings import get_settings

audit_app = typer.Typer(help="The ledger's hash-chained audit log.", no_args_is_help=True)
out = Console()


def _ledger(url: str | None):  # type: ignore[no-untyped-def]
    from models.ledger import Ledger

    return Ledger.open(url or get_settings().resolved_ledger_url())


@audit_app.command("verify")
def audit_verify(
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Check the audit chain; exit 1 naming the first entry that was changed or removed."""
    with _ledger(ledger_url) as ledger:
        verdict = ledger.verify_audit()
    if not verdict.ok:
        raise CheckFailed(
            f"audit chain broken at entry {verdict.first_bad_seq}: {verdict.reason} "
            f"({verdict.entries} entries read)"
        )
    out.print(f"audit chain intact: {verdict.entries} entries")


@audit_app.command("show")
def audit_show(
    last: int = typer.Option(20, help="How many of the newest entries to show."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Show the newest audit entries."""
    table = Table("seq", "at (UTC)", "actor", "action", "subject")
    with _ledger(ledger_url) as ledger:
        entries = ledger.audit_entries(limit=last)
    for e in entries:
        table.add_row(str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.subject)
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
