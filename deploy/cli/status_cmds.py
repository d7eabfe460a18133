"""``samsa-decom status`` (the ledger's view of every milestone) and ``samsa-decom approve``
(a person's decision on a waiting milestone, for operators without the UI)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from deploy.cli.plan_cmds import parse_as_of
from deploy.cli.words import language, say
from models.errors import InputError, SamsaDecomError
from models.settings import get_settings

if TYPE_CHECKING:
    from models.ledger import Ledger, MilestoneRecord
    from models.milestone import MilestoneState
    from models.plan import Milestone

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


def _state_label(state: MilestoneState, lang: str) -> str:
    """A milestone state as people read it: ``väntar på beslut`` (sv), ``awaiting approval``."""
    from tasks.status import STATE_LABELS

    return STATE_LABELS[state] if lang == "sv" else state.value.replace("_", " ")


def _ledger(url: str | None) -> Ledger:
    from models.ledger import Ledger

    return Ledger.open(url or get_settings().resolved_ledger_url())


def _ledger_view(ledger: Ledger, day: date, plan_path: str | None
                 ) -> tuple[dict[str, MilestoneRecord], dict[str, Milestone], frozenset[str]]:
    """The ledger's records, the plan's milestones by id and those whose date is a
    projection, from the day's state; when the plan or the rollout cannot be read, the
    ledger's records alone (the view still works)."""
    from models.plan import load_plan
    from tasks.phaseout.day import load_day

    settings = get_settings()
    try:
        plan = load_plan(Path(plan_path)) if plan_path else None
        today = load_day(settings, day, ledger=ledger, plan=plan)
    except SamsaDecomError:
        return dict(ledger.states()), {}, frozenset()
    return (dict(today.records), {m.id: m for m in today.plan.milestones},
            today.schedule.projected)


def status(
    as_of: str = typer.Option(None, "--as-of", help="Day to count days left from (YYYY-MM-DD)."),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
    plan_path: str = typer.Option(None, "--plan", help="Plan file, for titles and owners."),
    waiting: bool = typer.Option(False, "--waiting", help="Only milestones awaiting a decision."),
    lang: str = typer.Option(None, "--lang", help="sv or en (default: SAMSA_DECOM_LANGUAGE)."),
) -> None:
    """The ledger's view: every milestone's state, date and last reason (Swedish, or English
    by the setting SAMSA_DECOM_LANGUAGE=en or --lang en)."""
    from models.schedule import completion_day  # the plan and rollout models: not at start-up
    from tasks.status import display_of

    lg = language(lang)
    day = parse_as_of(as_of)
    zone = get_settings().timezone
    with _ledger(ledger_url) as ledger:
        records, plan, projected = _ledger_view(ledger, day, plan_path)
    if not records:
        out.print(say("status_empty", lg))
        return
    order = {mid: i for i, mid in enumerate(plan)}
    rows = sorted(records.values(), key=lambda r: (
        order.get(r.milestone_id.split("@")[0], 10_000), r.milestone_id))
    table = Table(*(say(k, lg) for k in ("id", "title", "owner", "due", "status", "days", "last")))
    shown = 0
    for r in rows:
        if waiting and r.state.value != "awaiting_approval":
            continue
        m = plan.get(r.milestone_id.split("@")[0])
        guess = r.milestone_id.split("@")[0] in projected
        disp = display_of(r.state, r.due, day, guess)
        days = ""
        if r.due and not r.state.final:
            n = (r.due - day).days
            late = say("projection", lg) if guess else say("days_late", lg, n=-n)
            days = late if n < 0 else (say("today", lg) if n == 0 else say("in_days", lg, n=n))
        completed = completion_day(r, zone)
        if completed is not None:
            days = say("done_on", lg, d=completed)
        style = _STYLE[disp.value]
        label = _state_label(r.state, lg)
        table.add_row(
            r.milestone_id,
            getattr(m, "title", "") or "",
            str(getattr(m, "owner", "") or ""),
            say("projection_mark", lg, d=r.due) if r.due and guess else str(r.due or "–"),
            f"[{style}]{label}[/]" if style else label,
            days,
            r.detail or "",
        )
        shown += 1
    out.print(table)
    out.print(say("n_milestones", lg, n=shown, d=day))


def approve(
    milestone: str = typer.Argument(..., help="Milestone id (or occurrence id, id@YYYY-MM)."),
    approver: str = typer.Option(..., "--approver", help="Your name; kept in the ledger."),
    comment: str = typer.Option("", "--comment", help="Why (no personnummer)."),
    refuse: bool = typer.Option(False, "--refuse", help="Refuse (or: the manual step is not "
                                "done yet) instead of approving."),
    code: str = typer.Option(
        None, "--code", help="The one-time code sent to your own channel when the decision "
        "began to wait. Without it, a new code is sent (if none is valid) and nothing is decided."
    ),
    diarienummer: str = typer.Option(
        None, "--diarienummer", help="Case number of the disposal decision (gallringsbeslut), "
        "e.g. 'RS 2026-01234'; required to approve a deletion."
    ),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default from settings)."),
    lang: str = typer.Option(None, "--lang", help="sv or en (default: SAMSA_DECOM_LANGUAGE)."),
) -> None:
    """Approve (or refuse) a milestone that awaits a decision, by the form's rules.

    A manual step confirmed here is done at once if its gate is open; an irreversible step
    runs on the reconciler's next run, after its gate is checked again. A step whose plan
    names an approver channel needs the one-time code sent there; a deletion needs the
    gallringsbeslut's diarienummer. The plan is always the configured one.
    """
    from flows.wiring import resolve_action
    from models.plan import load_plan
    from tasks.phaseout.decide import decide_milestone, send_milestone_code

    lg = language(lang)
    settings = get_settings()
    plan = load_plan(settings.plan_path)
    with _ledger(ledger_url) as ledger:
        try:
            wanted = plan.milestone(milestone.split("@")[0]).approver_channel
        except KeyError:
            wanted = None  # decide_milestone names the unknown milestone
        waits = ledger.wait_in_progress(f"milestone:{milestone}") is not None
        if wanted and waits and not (code or "").strip():
            sent = send_milestone_code(ledger, plan, milestone)
            said = (f"en ny kod har skickats till kanalen '{wanted}'" if sent is not None
                    else f"koden skickades till kanalen '{wanted}' när beslutet började vänta")
            raise InputError(f"{milestone}: engångskod krävs (--code KOD); {said}")
        decided = decide_milestone(
            settings, ledger, plan, milestone_id=milestone, approver=approver,
            approved=not refuse, comment=comment,
            has_action=lambda action: resolve_action(action) is not None,
            code=code, case_number=diarienummer,
        )
    name = decided.approver
    word = say("refused" if refuse else ("confirmed_by" if decided.manual else "approved"), lg)
    said = {"m": milestone, "word": word, "name": name}
    if decided.new_state is not None:
        state = _state_label(decided.new_state, lg)
        out.print(say("decided_state", lg, state=state, **said))
    elif not refuse and decided.manual and not decided.gate.open:
        why = "; ".join(decided.gate.reasons)
        out.print(say("decided_gate_closed", lg, why=why, **said), soft_wrap=True)
    else:
        out.print(say("decided_next_run", lg, **said), soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("approve")(approve)
