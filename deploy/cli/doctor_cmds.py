"""``samsa-decom doctor``: is everything samsa-decom needs reachable and healthy?"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

out = Console(width=max(Console().width, 120))

_STYLE = {"OK": "green", "WARN": "yellow", "FAIL": "bold red"}


def doctor(
    api_url: str = typer.Option(
        None, "--api-url", help="Prefect API (default: PREFECT_API_URL, else the UI address)."
    ),
    send_test: bool = typer.Option(
        False, "--send-test", help="Send one test notice through every notification channel."
    ),
) -> None:
    """Check the Prefect server (and its auth), the ledger, SAMSA's database and the channels.

    Prints one row per check with what to do when it is not OK; exit 1 when any check fails.
    """
    from deploy.doctor import FAIL, run_checks
    from models.settings import get_settings

    checks = run_checks(get_settings(), api_url=api_url, send_test=send_test)
    table = Table(title="samsa-decom doctor")
    for column in ("check", "status", "found", "what to do"):
        table.add_column(column, overflow="fold")
    for c in checks:
        table.add_row(c.name, f"[{_STYLE[c.status]}]{c.status}[/]", c.found, c.todo)
    out.print(table)
    failed = [c for c in checks if c.status == FAIL]
    if failed:
        from models.errors import CheckFailed

        raise CheckFailed(f"{len(failed)} check(s) failed: {', '.join(c.name for c in failed)}")
    out.print("[green]all checks passed[/]")


def upgrade_ledger(
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
) -> None:
    """Create the ledger, or upgrade its schema to the newest version (Alembic, every head);
    safe to repeat. The only command besides `up` and `deploy` that changes the schema.

    Take a backup first (docs/operations.md). Prints the revisions the ledger is at afterwards.
    """
    from alembic.runtime.migration import MigrationContext

    from models.ledger import Ledger, upgrade_ledger
    from models.settings import get_settings

    url = ledger_url or get_settings().resolved_ledger_url()
    upgrade_ledger(url)
    with Ledger.open(url) as ledger, ledger.engine.connect() as conn:
        heads = sorted(MigrationContext.configure(conn).get_current_heads())
    out.print(f"ledger at revisions: {', '.join(heads)}")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
    app.command("upgrade-ledger")(upgrade_ledger)
