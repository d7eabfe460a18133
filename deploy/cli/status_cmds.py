"""``samsa-decom status`` (the ledger's view of every milestone) and ``samsa-decom approve``
(a person's decision on a waiting milestone, for operators without the UI)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from deploy.cli.plan_cmds import parse_as_of
from models import clock
from models.errors import InputError
from models.schedule import completion_day
from models.settings import get_settings

out = Console()

_STYLE = {
    "done": "green",
    "failed": "bold red",
    "blocked": "dim",
    "awaiting": "yellow",
    "overdue": "red",
    "due": "blue",
    "pending": "",
}


def _ledger(url: str | None):  # type: ignore[no-untyped-def]
    from models.ledger import Ledger

    return Ledger.open(url or get_settings().resolved_ledger_url())


def _plan_titles(plan_path: str | None) -> dict[str, object]:
    """Milestones by id from the plan (empty when the plan cannot be read: the ledger's
    view still works)."""
    from models.plan import load_plan

    try:
        plan = load_plan(Path(plan_path) if plan_path else get_settings().plan_path)
    except InputError:
        return {}
    return {m.id: m for m in plan.milestones}


def status(
    as_of: str = typer.Option(None, "--as-of", help="Day to count days left from (YYYY-MM-DD)."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
    plan_path: str = typer.Option(None, "--plan", help="Plan file, for titles and owners."),
    waiting: bool = typer.Option(False, "--waiting", help="Only milestones awaiting a decision."),
) -> None:
    """The ledger's view: every milestone's state, date and last reason."""
    from tasks.status import STATE_LABELS, display_of

    day = parse_as_of(as_of)
    zone = get_settings().timezone
    plan = _plan_titles(plan_path)
    records = _ledger(ledger_url).states()
    if not records:
        out.print("The ledger has no milestones yet: the reconciler (reconcile-phaseout) "
                  "has not run against it.")
        return
    order = {mid: i for i, mid in enumerate(plan)}
    rows = sorted(records.values(), key=lambda r: (
        order.get(r.milestone_id.split("@")[0], 10_000), r.milestone_id))
    table = Table("id", "milestolpe", "ansvarig", "datum", "status", "dagar", "senast")
    shown = 0
    for r in rows:
        if waiting and r.state.value != "awaiting_approval":
            continue
        m = plan.get(r.milestone_id.split("@")[0])
        disp = display_of(r.state, r.due, day)
        days = ""
        if r.due and not r.state.final:
            n = (r.due - day).days
            days = f"{-n} d försenad" if n < 0 else ("i dag" if n == 0 else f"om {n} d")
        completed = completion_day(r, zone)
        if completed is not None:
            days = f"klar {completed}"
        style = _STYLE[disp.value]
        table.add_row(
            r.milestone_id,
            getattr(m, "title", "") or "",
            str(getattr(m, "owner", "") or ""),
            str(r.due or "–"),
            f"[{style}]{STATE_LABELS[r.state]}[/]" if style else STATE_LABELS[r.state],
            days,
            r.detail or "",
        )
        shown += 1
    out.print(table)
    out.print(f"{shown} milstolpar per {day}")


def approve(
    milestone: str = typer.Argument(..., help="Milestone id (or occurrence id, id@YYYY-MM)."),
    approver: str = typer.Option(..., "--approver", help="Your name; kept in the ledger."),
    comment: str = typer.Option("", "--comment", help="Why (no personnummer)."),
    refuse: bool = typer.Option(False, "--refuse", help="Refuse (or: the manual step is not "
                                "done yet) instead of approving."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
    plan_path: str = typer.Option(None, "--plan", help="Plan file (default from settings)."),
) -> None:
    """Approve (or refuse) a milestone that awaits a decision, like the form in the UI.

    A manual step confirmed here is done at once if its gate is open; an irreversible step
    runs on the reconciler's next run, after its gate is checked again.
    """
    from flows.actions import resolve_action
    from flows.forms import mask_personnummer
    from models.plan import load_plan
    from tasks.gates import evaluate_gate
    from tasks.ledger_view import record_decision
    from tasks.reconcile import decision_kind
    from tasks.rollout_source import load_rollout

    settings = get_settings()
    plan = load_plan(Path(plan_path) if plan_path else settings.plan_path)
    try:
        m = plan.milestone(milestone.split("@")[0])
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    name = " ".join(approver.split())
    if not name:
        raise InputError("--approver: your name is required")
    rollout = load_rollout(settings.rollout_source)
    today = clock.today(settings.timezone)
    verdict = evaluate_gate(plan.gate_for(m), rollout, today, lang=settings.language)
    manual = resolve_action(m.action) is None
    recorded = record_decision(
        _ledger(ledger_url), milestone_id=milestone, kind=decision_kind(m), approver=name,
        approved=not refuse, comment=mask_personnummer(comment.strip()), manual=manual,
        gate_open=verdict.open, flow_run_id=None,
    )
    word = "refused" if refuse else ("confirmed" if manual else "approved")
    if recorded.new_state is not None:
        out.print(f"{milestone}: {word} by {name} → {recorded.new_state.value}")
    elif not refuse and manual and not verdict.open:
        out.print(f"{milestone}: {word} by {name}, but its gate is closed "
                  f"({'; '.join(verdict.reasons)}): it stays waiting")
    else:
        out.print(f"{milestone}: {word} by {name}; the reconciler acts on its next run "
                  "(after checking the gate again)")


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("approve")(approve)
