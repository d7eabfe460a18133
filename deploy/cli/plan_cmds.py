"""Plan commands: ``samsa-decom plan`` (milestones, dates, states, gates, budget) and
``samsa-decom gate MILESTONE`` (why a milestone's gate is open or closed).

Exit codes: 0 ok (a closed gate is an answer, not an error); 2 bad input (an invalid plan
or rollout, listing every problem; an unknown milestone, naming near matches; a bad date).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from deploy.cli.words import has, language, say
from models.errors import CheckFailed, InputError
from models.settings import get_settings

if TYPE_CHECKING:
    from models.plan import Plan
    from models.rollout import Rollout
    from models.schedule import Schedule
    from tasks.phaseout.day import Day

out = Console()
err = Console(stderr=True)


def _l(key: str, lang: str) -> str:
    return say(key, lang)


def _code(key: str, lang: str) -> str:
    """A code's words (``stage_paused`` → ``pausad``), or the code itself if unknown."""
    return say(key, lang) if has(key) else key.split("_", 1)[-1]


# -- shared helpers (also used by other areas' commands) ---------------------------------------


def parse_as_of(value: str | None) -> date:
    """An ISO date, or today in the configured time zone when ``value`` is None."""
    if value is None:
        from models.clock import today

        return today(get_settings().timezone)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--as-of: '{value}' is not a date; write YYYY-MM-DD") from None


def load_inputs(plan_path: Path | None, rollout_source: str | None) -> tuple[Plan, Rollout]:
    """The validated plan and rollout (defaults from settings); ValidationFailed on problems."""
    from models.plan import load_plan
    from tasks.rollout_source import load_rollout

    settings = get_settings()
    plan = load_plan(plan_path or settings.plan_path)
    rollout = load_rollout(rollout_source or settings.rollout_source)
    return plan, rollout


def load_cli_day(
    as_of: date, plan_path: Path | None, rollout_source: str | None, ledger_url: str | None,
    lang: str | None = None,
) -> tuple[Day, str | None]:
    """The day's state for a command (:func:`tasks.phaseout.day.load_day`), and a note when
    the ledger cannot be read. Creates and migrates nothing: when the configured SQLite ledger
    file does not exist yet, or a database has no ledger tables, no milestone has a state yet
    (every one is ``pending``); a ``--ledger`` URL given that names no file is an error
    (:class:`models.ledger.NoLedger`, exit 2)."""
    from sqlalchemy.exc import SQLAlchemyError

    from models.ledger import Ledger, LedgerNotUpgraded
    from tasks.phaseout.day import load_day

    settings = get_settings()
    plan, rollout = load_inputs(plan_path, rollout_source)
    url = ledger_url or settings.resolved_ledger_url()

    def without_ledger(note: str) -> tuple[Day, str | None]:
        return load_day(settings, as_of, plan=plan, rollout=rollout, lang=lang), note

    if ledger_url is None and url.startswith("sqlite:///") and ":memory:" not in url:
        if not Path(url.removeprefix("sqlite:///")).exists():
            return without_ledger("ledger_missing")
    try:
        with Ledger.open(url) as ledger:
            return load_day(settings, as_of, ledger=ledger, plan=plan, rollout=rollout,
                            lang=lang), None
    except LedgerNotUpgraded:
        return without_ledger("ledger_missing")
    except (CheckFailed, SQLAlchemyError) as exc:
        return without_ledger(f"ledger unreadable ({type(exc).__name__}); states shown as pending")


def plan_rows(day: Day) -> list[dict[str, Any]]:
    """One JSON-able object per milestone: dates, state, gate verdict."""
    plan, schedule, records = day.plan, day.schedule, day.records
    rows: list[dict[str, Any]] = []
    for m in plan.milestones:
        verdict = day.milestone_gates[m.id]
        due = schedule.due[m.id]
        nxt = schedule.next_occurrence(m.id) if m.recurring else None
        current = m.id
        if m.recurring:
            # the reconciler tracks each occurrence as <id>@YYYY-MM; show the latest one due
            past = [d for d in schedule.occurrences.get(m.id, []) if d <= schedule.as_of]
            if past:
                current = f"{m.id}@{past[-1]:%Y-%m}"
        rec = records.get(current) or records.get(m.id)
        state = getattr(rec.state, "value", rec.state) if rec is not None else "pending"
        final = state in ("done", "skipped")
        projected = m.id in schedule.projected
        if projected:
            overdue = False  # a date that moves with the days cannot be overdue
        elif m.recurring and current != m.id:
            overdue = not final  # the latest occurrence whose day has come is not done
        else:
            overdue = (not final) and due < schedule.as_of
        rows.append(
            {
                "id": m.id,
                "title": m.title,
                "workstream": m.workstream.value,
                "phase": m.phase,
                "owner": m.owner,
                "due": due.isoformat(),
                "due_spec": m.due,
                "next_occurrence": nxt.isoformat() if nxt else None,
                "occurrences": len(schedule.occurrences.get(m.id, [])) if m.recurring else None,
                "overdue": overdue,
                "projected": projected,
                "occurrence_id": current if current != m.id else None,
                "state": state,
                "gate": m.gate,
                "gate_open": verdict.open,
                "gate_reasons": verdict.reasons,
                "irreversible": m.irreversible,
                "action": m.action,
                "action_params": m.action_params,
                "depends_on": list(m.depends_on),
                "notify": list(m.notify),
                "cost_estimate": m.cost_estimate,
                "assumption": m.assumption or None,
            }
        )
    return rows


# -- commands ----------------------------------------------------------------------------


PlanOpt = Annotated[Path | None, typer.Option("--plan", help="Plan YAML (default from settings).")]
RolloutOpt = Annotated[
    str | None,
    typer.Option("--rollout", help="Rollout: YAML file, http(s) URL or variable:NAME."),
]
LangOpt = Annotated[str | None, typer.Option("--lang", help="sv or en.")]


def plan_command(
    plan_file: PlanOpt = None,
    rollout: RolloutOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Compute for this day (YYYY-MM-DD).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of milestones.")
    ] = False,
    ledger_url: Annotated[
        str | None, typer.Option("--ledger", help="Ledger URL (default from settings).")
    ] = None,
    lang: LangOpt = None,
) -> None:
    """The milestones with computed dates, ledger state and gate, and the budget per year."""
    from models.milestone import MilestoneState
    from models.schedule import budget_by_year, parallel_run
    from tasks.status import STATE_LABELS, WORKSTREAM_LABELS

    language = _lang(lang)
    today, note = load_cli_day(parse_as_of(as_of), plan_file, rollout, ledger_url, language)
    day, plan, ro, schedule = today.as_of, today.plan, today.rollout, today.schedule
    rows = plan_rows(today)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return

    status = (
        _l("confirmed", language) if schedule.transition_confirmed else _l("projected", language)
    )
    out.print(f"[bold]{plan.title}[/] – {_l('as_of', language)} {day}")
    out.print(f"{_l('transition', language)}: [bold]{schedule.transition}[/] ({status})")
    for reason in schedule.transition_reasons:
        out.print(f"  · {reason}", highlight=False)
    _print_stages(ro, schedule, language)
    if note:
        err.print(say(note, language) if has(note) else note)

    table = Table(
        _l("id", language),
        _l("title", language),
        _l("ws", language),
        _l("due", language),
        _l("spec", language),
        _l("cost", language),
        _l("state", language),
        _l("gate", language),
    )
    for row in rows:
        due = row["due"]
        if row["next_occurrence"]:
            due = f"{_l('next', language)} {row['next_occurrence']} (… {row['due']})"
        if row["overdue"]:
            due = f"[red]{due} {_l('overdue', language)}[/]"
        elif row["projected"]:
            due = f"{due} [yellow]{_l('projection', language)}[/]"
        if row["gate"]:
            word = _l("open", language) if row["gate_open"] else _l("closed", language)
            colour = "green" if row["gate_open"] else "red"
            gate = f"[{colour}]{word}[/] {row['gate']}"
        else:
            gate = f"[dim]{_l('no_gate', language)}[/]"
        title = row["title"] + (
            f" [bold red]({_l('irreversible', language)})[/]" if row["irreversible"] else ""
        )
        spec = row["due_spec"] + (" [yellow]*[/]" if row["assumption"] else "")
        cost = f"≈ {_sek(row['cost_estimate'])}" if row["cost_estimate"] else "–"
        workstream = WORKSTREAM_LABELS.get(row["workstream"], row["workstream"])
        state = STATE_LABELS.get(MilestoneState(row["state"]), row["state"])
        if language != "sv":
            workstream, state = row["workstream"], row["state"].replace("_", " ")
        table.add_row(row["id"], title, workstream, due, spec, cost, state, gate)
    out.print(table)
    assumed = [row for row in rows if row["assumption"]]
    if assumed:
        out.print(f"[yellow]*[/] {_l('assumptions', language)}:")
        for row in assumed:
            out.print(f"  · {row['id']}: {row['assumption']}", highlight=False, soft_wrap=True)

    budget = Table(
        _l("year", language),
        _l("estimate", language),
        _l("frame", language),
        _l("verdict", language),
        title=_l("budget", language),
    )
    for b in budget_by_year(plan, schedule):
        if b.frame_low_sek is not None and b.frame_percent is not None:
            low, high = b.frame_percent
            frame = (
                f"{_sek(b.frame_low_sek)}–{_sek(b.frame_high_sek or 0)} "
                f"({_pct(low)}–{_pct(high)} %)"
            )
        else:
            frame = "–"
        colour = {"over": "red", "within": "green"}.get(b.verdict, "yellow")
        budget.add_row(
            str(b.year), _sek(b.estimate_sek), frame, f"[{colour}]{_l(b.verdict, language)}[/]"
        )
    out.print(budget)
    slip = parallel_run(plan, ro, schedule)
    if slip is not None:
        out.print(_l("parallel_run", language).format(sek=_sek(slip.per_month_sek)),
                  highlight=False, soft_wrap=True)
        if slip.slip_months:
            out.print("  · " + _l("slip_so_far", language).format(
                months=slip.slip_months, planned=slip.planned_transition,
                sek=_sek(slip.cost_sek)), highlight=False, soft_wrap=True)
        if plan.budget.parallel_run_assumption:
            out.print(f"  · {plan.budget.parallel_run_assumption}", highlight=False,
                      soft_wrap=True)
    warnings = schedule.warnings + unregistered_actions(plan, language)
    if warnings:
        out.print(f"[yellow]{_l('warnings', language)}:[/]")
        for w in warnings:
            out.print(f"  · {w}", highlight=False)


def unregistered_actions(plan: Plan, language: str = "sv") -> list[str]:
    """Milestones whose ``action`` is not wired (flows/wiring.py): the reconciler
    would treat them as manual and wait for a person, so a misspelt action must be seen."""
    from flows.wiring import known_actions

    known = set(known_actions())
    found: list[str] = []
    for m in plan.milestones:
        if m.action != "manual" and m.action not in known:
            listed = ", ".join(sorted(known)) or "–"
            found.append(
                f"'{m.id}': åtgärden '{m.action}' är inte registrerad (kända: {listed}); "
                "milstolpen väntar på att en person bekräftar den"
                if language == "sv"
                else f"'{m.id}': action '{m.action}' is not registered (known: {listed}); "
                "the milestone will wait for a person to confirm it"
            )
    return found


def gate_command(
    milestone: Annotated[str, typer.Argument(help="Milestone id, e.g. samsa-db-deleted.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluate on this day (YYYY-MM-DD).")
    ] = None,
    plan_file: PlanOpt = None,
    rollout: RolloutOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    lang: LangOpt = None,
) -> None:
    """Why a milestone's gate is open or closed on a day (exit 0 either way)."""
    from tasks.phaseout.day import load_day

    language = _lang(lang)
    plan, ro = load_inputs(plan_file, rollout)
    try:
        m = plan.milestone(milestone)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    today = load_day(get_settings(), parse_as_of(as_of), plan=plan, rollout=ro, lang=language)
    day, gate, verdict = today.as_of, plan.gate_for(m), today.milestone_gates[m.id]
    if as_json:
        print(
            json.dumps(
                {
                    "milestone": m.id,
                    "gate": m.gate,
                    "as_of": day.isoformat(),
                    "open": verdict.open,
                    "reasons": verdict.reasons,
                    "checks": [{"ok": c.ok, "text": c.text} for c in verdict.checks],
                    "irreversible": m.irreversible,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    word = _l("open", language) if verdict.open else _l("closed", language)
    colour = "green" if verdict.open else "red"
    out.print(f"[bold]{m.id}[/] – {m.title}", highlight=False)
    if m.gate and gate is not None:
        desc = f" ({gate.description.strip()})" if gate.description else ""
        out.print(f"{_l('gate', language)}: {m.gate}{desc}", highlight=False, soft_wrap=True)
    out.print(f"{_l('as_of', language)} {day}: [bold {colour}]{word.upper()}[/]")
    for c in verdict.checks or []:
        mark = "[green]✓[/]" if c.ok else "[red]✗[/]"
        out.print(f"  {mark} {c.text}", highlight=False, soft_wrap=True)
    if not verdict.checks:
        for r in verdict.reasons:
            out.print(f"  · {r}", highlight=False)
    if m.irreversible:
        out.print(f"[bold]{_l('irreversible_note', language)}[/]")


def _print_stages(ro: Rollout, schedule: Schedule, language: str) -> None:
    """The rollout's stages: status, dates and how each counts toward the transition."""
    from tasks.gates import area_name

    updated = f", {_l('updated', language)} {ro.updated}" if ro.updated else ""
    stale = ro.updated is not None and (schedule.as_of - ro.updated).days > 14
    warn = f" [yellow]({_l('stale', language)})[/]" if stale else ""
    table = Table(
        _l("stage", language),
        _l("areas", language),
        _l("status", language),
        _l("planned", language),
        _l("actual", language),
        _l("counts_as", language),
        title=f"{ro.title} ({ro.source}{updated}){warn}",
    )
    projected = {p.stage_id: p for p in schedule.stages}
    for st in ro.stages:
        p = projected.get(st.id)
        status = _code(f"stage_{st.status.value}", language) + (
            f" {st.paused_on}" if st.paused_on else ""
        )
        table.add_row(
            st.name,
            ", ".join(area_name(a, language) for a in st.areas),  # type: ignore[arg-type]
            status,
            str(st.planned_go_live or "–"),
            _actual(st.actual_go_live, schedule.as_of, language),
            f"{p.date} ({_code(f'basis_{p.basis}', language)})" if p else "–",
        )
    out.print(table)


def _actual(day: date | None, as_of: date, language: str) -> str:
    if day is None:
        return "–"
    return str(day) if day <= as_of else f"{_l('from', language)} {day}"


def _lang(value: str | None) -> str:
    return language(value)


def _sek(v: float) -> str:
    return f"{v:,.0f}".replace(",", " ")


def _pct(v: float) -> str:
    return f"{v:g}"


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_command)
    app.command("gate")(gate_command)
