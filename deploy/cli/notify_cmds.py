"""Notification commands: ``samsa-decom notify`` (decide, record and send today's notices),
``samsa-decom outbox`` (what was sent, what waits) and ``samsa-decom notify-automation``
(the Prefect automation for runs waiting for a person).

Exit codes: 0 ok; 1 a notice could not be delivered (it stays queued for the next run);
2 bad input (a bad date, an unreadable plan, rollout or apprise configuration).
"""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from models.errors import CheckFailed, InputError
from models.settings import get_settings

out = Console()


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--as-of: '{value}' is not a date; write YYYY-MM-DD") from None


def notify(
    as_of: str = typer.Option(
        None, "--as-of", help="The day to decide for (YYYY-MM-DD; default today)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print what would be sent; record nothing."
    ),
    digest: bool = typer.Option(
        None, "--digest/--no-digest", help="One message per recipient tag."
    ),
) -> None:
    """Send today's milestone notices (due, overdue, moved, gates, waiting decisions)."""
    from flows.wiring import DEADLINE_PROVIDERS
    from tasks.notify.channels import Router
    from tasks.notify.run import run_notifications

    settings = get_settings()
    run = run_notifications(settings, _day(as_of), dry_run=dry_run, digest=digest,
                            providers=DEADLINE_PROVIDERS)
    if dry_run:
        router = None
        if settings.apprise_urls or settings.apprise_config:
            router = Router.from_settings(settings)
        head = {
            "sv": "Provkörning {d}: {n} nya aviseringar skulle skickas ({a} redan kända); "
            "inget skickas eller sparas.",
            "en": "Dry run {d}: {n} new notices would be sent ({a} already known); nothing "
            "is sent or recorded.",
        }[settings.language]
        out.print(
            head.format(d=run.as_of.isoformat(), n=len(run.notices), a=run.report.already),
            highlight=False,
        )
        for n in run.notices:
            where = ""
            if router is not None:
                k = len(router.for_tag(n.tag))
                where = f" [{k} kanal{'er' if k != 1 else ''}]" if k else " [INGEN KANAL]"
                if settings.language == "en":
                    where = f" [{k} channel{'s' if k != 1 else ''}]" if k else " [NO CHANNEL]"
            out.print(f"\n[bold]→ {n.tag}{where}[/]  {n.key}", highlight=False)
            out.print(f"  {n.subject}", highlight=False, markup=False)
            for line in n.body.splitlines():
                out.print(f"    {line}", highlight=False, markup=False)
        return
    r = run.report
    line = {
        "sv": "{d}: {q} nya, {a} redan kända, {s} skickade ({m} meddelanden), {f} ej levererade",
        "en": "{d}: {q} new, {a} already known, {s} sent ({m} messages), {f} not delivered",
    }[settings.language]
    out.print(
        line.format(
            d=run.as_of.isoformat(), q=r.queued, a=r.already, s=r.sent, m=r.messages, f=r.failed
        ),
        highlight=False,
    )
    if r.failed:
        first = r.errors[0] if r.errors else "unknown"
        raise CheckFailed(
            f"{r.failed} notice(s) not delivered; kept in the outbox for the next run: {first}"
        )


def outbox_cmd(
    status: str = typer.Option(None, help="Only this status: queued, sending, sent, failed."),
    last: int = typer.Option(30, help="How many of the newest notices to show."),
) -> None:
    """Show the notification outbox (newest last)."""
    from models.ledger import Ledger, NoticeStatus
    from tasks.notify.outbox import outbox

    if status is not None and status not in {s.value for s in NoticeStatus}:
        raise InputError(f"--status: '{status}' is not one of queued, sending, sent, failed")
    ledger = Ledger.open(get_settings().resolved_ledger_url())
    try:
        rows = outbox(ledger, status)[-last:]
    finally:
        ledger.close()
    table = Table("id", "tag", "status", "attempts", "subject", "key", "error")
    for r in rows:
        table.add_row(
            str(r.id),
            r.tag,
            r.status.value,
            str(r.attempts),
            r.subject,
            r.notice_key,
            r.last_error[:80],
        )
    out.print(table)


def notify_automation(
    webhook: str = typer.Option(
        None, help="Webhook URL (default SAMSA_DECOM_NOTIFY_PAUSE_WEBHOOK_URL)."
    ),
) -> None:
    """Create or update the Prefect automation that notifies when a run waits for a person."""
    from deploy.automations import AUTOMATION_NAME, ensure_pause_automation

    automation = ensure_pause_automation(webhook)
    out.print(f"automation '{AUTOMATION_NAME}' ready (id {automation.id})", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("notify")(notify)
    app.command("outbox")(outbox_cmd)
    app.command("notify-automation")(notify_automation)
