"""Ledger commands: ``samsa-decom audit verify|show|rekey``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from models.errors import CheckFailed
from models.settings import get_settings

audit_app = typer.Typer(help="The ledger's keyed audit chain.", no_args_is_help=True)
out = Console()


def _ledger(url: str | None):  # type: ignore[no-untyped-def]
    from models.ledger import Ledger

    return Ledger.open(url or get_settings().resolved_ledger_url())


@audit_app.command("verify")
def audit_verify(
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Check the audit chain with the audit key and against the last published head, and
    that every approval is backed by an audit entry; exit 1 naming what is wrong."""
    from tasks.audit_heads import check_audit

    with _ledger(ledger_url) as ledger:
        found = check_audit(ledger)
    if not found.ok:
        raise CheckFailed("; ".join(found.problems))
    against = (f", matches published head {found.head.seq}" if found.head
               else ", no head published yet")
    out.print(f"audit chain intact: {found.verdict.entries} entries{against}", highlight=False)


@audit_app.command("rekey")
def audit_rekey(
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Re-anchor the chain on the configured key (SAMSA_DECOM_AUDIT_KEY): every entry is
    checked with the old key (SAMSA_DECOM_AUDIT_OLD_KEY, or none for a chain written before
    keys), chained anew with the new key, and the new head is published."""
    import os

    from tasks.audit_heads import publish_head

    old = os.environ.get("SAMSA_DECOM_AUDIT_OLD_KEY")
    with _ledger(ledger_url) as ledger:
        verdict = ledger.rekey_audit(old.encode("utf-8") if old else None)
        head = publish_head(ledger, "audit key rotated")
    out.print(f"audit chain re-keyed: {verdict.entries} entries, head {head.seq} published "
              f"(key {head.key_id})", highlight=False)


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
