"""``samsa-decom integrations …``: list, validate, shut down (or rehearse), approve, confirm.

``shutdown`` runs the same engine as the Prefect flow ``shutdown-integrations`` but without a
Prefect server: decisions cannot be asked for on the spot, so the approval of the point of no
return (``approve``) and manual confirmations (``confirm``) are recorded in the ledger with
these commands, and a shutdown without them stops there, waiting (exit 0). A failed step
exits 1, bad input exits 2.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from models import clock
from models.errors import CheckFailed, InputError
from models.integrations import Integration
from models.settings import get_settings

integrations_app = typer.Typer(
    help="SAMSA's integrations: list them, shut them down (or rehearse), approve, confirm.",
    no_args_is_help=True,
)
out = Console()

CatalogueOpt = typer.Option(None, "--catalogue", help="integrations.yaml (default: settings).")
LedgerOpt = typer.Option(None, "--ledger", help="Ledger URL (default from settings).")
_CatalogueArg = typer.Argument(None, help="integrations.yaml to check (default: settings).")


def _catalogue(path: Path | None, *, with_plan: bool = True):  # type: ignore[no-untyped-def]
    from models.integrations import load_integrations
    from tasks.integrations.gates import PlanGates

    settings = get_settings()
    gate_names = None
    if with_plan:
        gate_names = PlanGates(settings.plan_path, settings.rollout_source).gate_names()
    return load_integrations(path or settings.integrations_path, gate_names=gate_names)


def _ledger(url: str | None):  # type: ignore[no-untyped-def]
    from models.ledger import Ledger

    return Ledger.open(url or get_settings().resolved_ledger_url())


@integrations_app.command("list")
def list_integrations(catalogue: Path = CatalogueOpt, ledger_url: str = LedgerOpt) -> None:
    """Every integration, in shutdown order, with its gate and where its shutdown stands."""
    from models.ledger.integrations import IntegrationLedger

    cat = _catalogue(catalogue)
    with _ledger(ledger_url) as ledger:
        statuses = IntegrationLedger(ledger).statuses()
    table = Table(
        "integration",
        "counterpart",
        "direction",
        "protocol",
        "after",
        "gate",
        "status",
        "step",
        "waits for",
    )
    wide = Console(width=None if sys.stdout.isatty() else 200)
    for i in cat.shutdown_order():
        rec = statuses.get(i.name)
        table.add_row(
            i.name,
            i.counterpart,
            i.direction.value,
            i.protocol,
            ", ".join(i.shutdown_after),
            i.gate or "",
            "not connected" if not i.connected else (rec.status.value if rec else "not_started"),
            (rec.current_step or "") if rec else "",
            rec.waiting_for if rec else "",
        )
    wide.print(table)


@integrations_app.command("validate")
def validate(catalogue: Path = _CatalogueArg) -> None:
    """Check the catalogue (and its gate names against the plan); every problem at once."""
    from tasks.integrations.gates import PlanGates

    settings = get_settings()
    cat = _catalogue(catalogue)
    out.print(f"{cat.source}: {len(cat.integrations)} integrations, no problems", highlight=False)
    if PlanGates(settings.plan_path, settings.rollout_source).gate_names() is None:
        out.print(
            f"note: gate names not checked: the plan {settings.plan_path} cannot be "
            "read (samsa-decom plan says why)",
            highlight=False,
        )


@integrations_app.command("show")
def show(name: str, catalogue: Path = CatalogueOpt, ledger_url: str = LedgerOpt) -> None:
    """One integration's steps, what each does, and the state of each."""
    from models.ledger.integrations import IntegrationLedger
    from tasks.integrations.report import describe, display_resolver

    cat = _catalogue(catalogue)
    integ = cat.get(name)
    show_vars = display_resolver(cat, get_settings().resolved_source_url())
    with _ledger(ledger_url) as ledger:
        steps = IntegrationLedger(ledger).steps(name)
    table = Table("step", "phase", "kind", "state", "attempt", "what", "how", "note")
    for k, s in enumerate(integ.steps):
        rec = steps.get(s.id)
        note = (
            "point of no return"
            if k == integ.ponr_index
            else ("reversible" if s.reversible else "")
        )
        table.add_row(
            s.id,
            s.phase.value,
            s.kind.value,
            rec.state.value if rec else "pending",
            str(rec.attempt) if rec else "0",
            s.title,
            describe(s, rehearsal=False, show=show_vars),
            note,
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@integrations_app.command("shutdown")
def shutdown(
    name: str = typer.Argument(..., help="Integration name, or `all` (dependency order)."),
    rehearse: bool = typer.Option(
        False, "--rehearse", help="Show what would happen; touch nothing."
    ),
    as_of: str = typer.Option(
        None, "--as-of", help="Day to judge gates and silence (YYYY-MM-DD); with --rehearse only."
    ),
    catalogue: Path = CatalogueOpt,
    ledger_url: str = LedgerOpt,
) -> None:
    """Shut down one integration (or all) as far as gates, approvals and silence allow.

    A real shutdown acts on today; ``--as-of`` is refused without ``--rehearse``."""
    from models.ledger.integrations import ShutdownStatus
    from models.settings import refuse_overrides
    from tasks.integrations.engine import ShutdownEngine
    from tasks.integrations.gates import PlanGates
    from tasks.integrations.hooks import PlainHooks

    refuse_overrides(rehearse, **{"--as-of": as_of})
    day = _day(as_of)
    settings = get_settings()
    cat = _catalogue(catalogue)
    gates = PlanGates(settings.plan_path, settings.rollout_source, settings.language)
    hooks = PlainHooks(
        cat,
        settings.resolved_source_url(),
        gates,
        notify=lambda subject, text: out.print(f"[red]{subject}[/]: {text}"),
    )
    with _ledger(ledger_url) as ledger:
        engine = ShutdownEngine(cat, ledger, hooks, source_url=settings.resolved_source_url())
        if name == "all":
            reports = engine.run_all(as_of=day, rehearse=rehearse)
        else:
            reports = [engine.run_one(name, as_of=day, rehearse=rehearse)]
    for r in reports:
        out.print(
            f"[bold]{r.name}[/]: {r.status.value}"
            + (f", waits for {r.waiting_for}" if r.waiting_for else ""),
            highlight=False,
        )
        for line in r.rehearsal:
            out.print(f"  {line}", highlight=False, markup=False)
        if r.detail and r.status is ShutdownStatus.failed:
            out.print(f"  {r.detail}", highlight=False, markup=False)
    failed = [r.name for r in reports if r.status is ShutdownStatus.failed]
    if failed:
        raise CheckFailed(f"shutdown failed: {', '.join(failed)}")


@integrations_app.command("rollback")
def rollback(
    name: str,
    by: str = typer.Option(..., "--by", help="Your full name (recorded in the audit chain)."),
    reason: str = typer.Option(..., "--reason", help="Why (e.g. the successor was paused)."),
    catalogue: Path = CatalogueOpt,
    ledger_url: str = LedgerOpt,
) -> None:
    """Undo the reversible steps done so far (before the point of no return), newest first.

    For when the successor's rollout stops half-way and SAMSA must work fully again."""
    from models.ledger.integrations import IntegrationLedger, ShutdownStatus, StepState
    from tasks.integrations.engine import ShutdownEngine
    from tasks.integrations.gates import PlanGates
    from tasks.integrations.hooks import PlainHooks

    settings = get_settings()
    cat = _catalogue(catalogue, with_plan=False)
    integ = cat.get(name)
    with _ledger(ledger_url) as ledger:
        il = IntegrationLedger(ledger)
        ponr = integ.point_of_no_return or ""
        rec = il.steps(name).get(ponr)
        if rec is not None and rec.state in (StepState.done, StepState.running):
            raise InputError(
                f"{name}: the point of no return ({ponr}) is {rec.state.value}; "
                "nothing can be rolled back"
            )
        hooks = PlainHooks(
            cat, settings.resolved_source_url(),
            PlanGates(settings.plan_path, settings.rollout_source),
        )
        engine = ShutdownEngine(cat, ledger, hooks, source_url=settings.resolved_source_url())
        other = engine.records.acquire(integ)  # never while a shutdown run holds it
        if other is not None:
            raise CheckFailed(f"{name}: a shutdown run is working on it ({other}); "
                              "roll back when it has ended")
        try:
            with ledger.unit_of_work() as s:
                ledger.append_audit(
                    s,
                    actor=by,
                    action="integration.rollback.requested",
                    subject=f"integration:{name}",
                    details={"reason": reason},
                )
            undone, problem = engine.rollback(integ)
            with ledger.unit_of_work() as s:
                il.set_status(
                    s,
                    name,
                    ShutdownStatus.failed if problem else ShutdownStatus.rolled_back,
                    detail=f"rolled back by {by}: {reason}"
                    + (f"; ROLLBACK INCOMPLETE: {problem}" if problem else ""),
                    actor=by,
                )
        finally:
            engine.records.release(integ)
        out.print(f"{name}: undone {', '.join(undone) or 'nothing'}", highlight=False)
        if problem:
            raise CheckFailed(f"{name}: {problem}")


@integrations_app.command("approve")
def approve(
    name: str,
    approver: str = typer.Option(..., "--approver", help="Your full name."),
    step: str = typer.Option(None, "--step", help="Default: the point of no return."),
    refuse: bool = typer.Option(False, "--refuse", help="Record a refusal instead."),
    comment: str = typer.Option("", "--comment"),
    code: str = typer.Option(
        None, "--code", help="The one-time code sent to your own channel when the point of no "
        "return began to wait (when the catalogue names an approver_channel). Without it a "
        "new code is sent (if none is valid) and nothing is decided."
    ),
    catalogue: Path = CatalogueOpt,
    ledger_url: str = LedgerOpt,
) -> None:
    """Record the approval (or refusal) of an integration's point of no return."""
    integ = _catalogue(catalogue, with_plan=False).get(name)
    step_id = step or integ.point_of_no_return or ""
    if step_id != integ.point_of_no_return:
        raise InputError(
            f"{name}: only the point of no return ({integ.point_of_no_return}) "
            f"takes an approval, not {step_id!r}"
        )
    _record(ledger_url, integ.subject(step_id), "approval", approver, not refuse, comment,
            waiting=True, integ=integ, code=code)


@integrations_app.command("confirm")
def confirm(
    name: str,
    step: str,
    by: str = typer.Option(..., "--by", help="Your full name."),
    not_done: bool = typer.Option(
        False,
        "--not-done",
        help="It could not be done (fails the step; reversible steps are rolled back).",
    ),
    comment: str = typer.Option("", "--comment"),
    catalogue: Path = CatalogueOpt,
    ledger_url: str = LedgerOpt,
) -> None:
    """Confirm a manual step that the shutdown asked for (run the shutdown again after)."""
    from models.integrations import StepKind

    integ = _catalogue(catalogue, with_plan=False).get(name)
    try:
        s = integ.step(step)
    except KeyError:
        raise InputError(f"{name} has no step {step!r}") from None
    if s.kind is not StepKind.manual:
        raise InputError(f"{name}.{step} is a {s.kind.value} step, not a manual one")
    _record(ledger_url, integ.subject(step), "confirmation", by, not not_done, comment)


def _record(
    ledger_url: str | None, subject: str, kind: str, person: str, yes: bool, comment: str,
    *, waiting: bool = False, integ: Integration | None = None, code: str | None = None,
) -> None:
    """Record a decision; with ``waiting``, only while ``subject`` waits for one (an
    approval answers the wait in progress, never a later one), and with the one-time code
    sent to the approver's channel when ``integ`` names one."""
    from models.identity import person_name, scrub_identities
    from tasks.decision_codes import redeem_code, send_code

    person = person_name(person)  # the forms' rule: a name, never an identity number
    with _ledger(ledger_url) as ledger:
        wait = ledger.wait_in_progress(subject) if waiting else None
        if waiting and wait is None:
            raise InputError(
                f"{subject} is not waiting for an approval: run the shutdown until it waits "
                "at its point of no return, then approve"
            )
        channel = None
        if integ is not None and integ.approver_channel and wait is not None:
            tag = integ.approver_channel
            if not (code or "").strip():
                said = f"koden skickades till kanalen '{tag}' när steget började vänta"
                if ledger.codes.live(subject, wait) is None:
                    send_code(ledger, subject=subject, wait=wait, tag=tag,
                              what=f"den oåterkalleliga punkten {subject} ({integ.title})",
                              how_to_answer="Kör 'samsa-decom integrations approve "
                              f"{integ.name} --approver NAMN --code KOD'.")
                    said = f"en ny kod har skickats till kanalen '{tag}'"
                raise InputError(f"{subject}: engångskod krävs (--code KOD); {said}")
            channel = redeem_code(ledger, subject, code)
        with ledger.unit_of_work() as s:
            ledger.record_approval(
                s,
                subject=subject,
                kind=kind,
                approver=person,
                approved=yes,
                comment=scrub_identities(comment, limit=2000),
                wait=wait,
                code_channel=channel,
            )
        out.print(f"recorded: {kind} of {subject} {'given' if yes else 'refused'} by {person}")


def _day(text: str | None) -> date:
    if not text:
        return clock.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of {text!r}: expected YYYY-MM-DD") from None


def register(app: typer.Typer) -> None:
    app.add_typer(integrations_app, name="integrations")
