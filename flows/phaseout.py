"""The daily reconciler of SAMSA's phase-out, and the form a person answers when asked.

Each morning ``reconcile-phaseout`` reads the plan, the successor's rollout and the ledger,
works out every milestone's date and gate, and starts what is due and allowed: a milestone
whose dependencies are done, whose gate is open and whose date has come. Steps done by hand
(``manual``) and steps that cannot be undone (``irreversible``) wait for a person: each gets a
``confirm-milestone`` run, paused on a form in the Prefect UI, where a project manager gives
name, decision and comment. Every change is written to the ledger; running the reconciler
twice changes nothing the second time, and a run killed half-way resumes the next time.

The ``phaseout-status`` artifact shows the milestone table and a timeline picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.actions import ActionContext, ActionResult
from flows.decisions import forget_stored_answer, open_wait, start_decision_run
from flows.forms import MilestoneDecision
from flows.masking import masked_errors
from models.clock import today as clock_today
from models.errors import CheckFailed, InputError
from models.identity import scrub_identities
from models.ledger import Ledger
from models.milestone import MilestoneState
from models.plan import Plan, load_plan
from models.schedule import Schedule
from models.settings import Settings, get_settings, refuse_overrides
from tasks.audit_heads import publish_head
from tasks.gates import GateVerdict, evaluate_gate
from tasks.ledger_view import (
    decision_awaited,
    read_facts,
)
from tasks.phaseout.day import Day, load_day
from tasks.phaseout.decide import decide_milestone, milestone_how_to_answer, milestone_what
from tasks.reconcile import (
    Facts,
    Instance,
    Transition,
    build_instances,
    decide,
    expand_dependencies,
    settle,
)
from tasks.rollout_source import load_rollout
from tasks.status import status_markdown, status_rows
from tasks.timeline import timeline_svg

STATUS_KEY = "phaseout-status"
REHEARSAL_KEY = "phaseout-rehearsal"
CONFIRM_DEPLOYMENT = "confirm-milestone/samsa"


# -- helpers ---------------------------------------------------------------------------------


def _today(settings: Settings) -> date:
    return clock_today(settings.timezone)


def _has_action(name: str) -> bool:
    from flows.wiring import resolve_action  # the composition root imports this module

    return resolve_action(name) is not None


@dataclass
class World:
    """What the reconciler works on during a run: the day's state and the open ledger."""

    settings: Settings
    ledger: Ledger
    day: Day
    instances: list[Instance] = field(init=False)

    def __post_init__(self) -> None:
        self.instances = self._instances()

    @property
    def as_of(self) -> date:
        return self.day.as_of

    @property
    def plan(self) -> Plan:
        return self.day.plan

    @property
    def schedule(self) -> Schedule:
        return self.day.schedule

    @property
    def verdicts(self) -> Mapping[str, GateVerdict]:
        return self.day.milestone_gates

    def facts(self) -> dict[str, Facts]:
        """What the ledger knows of every milestone; a decision on a milestone that names an
        approver channel counts only when its one-time code confirmed it."""
        needs_code = {m.id: m.approver_channel for m in self.plan.milestones
                      if m.approver_channel}
        return read_facts(self.ledger, needs_code)

    def refresh(self) -> None:
        """Dates and instances again, with the completion dates the ledger now holds
        (``after X + 14d`` counts from X's real completion)."""
        self.day = self.day.with_records(self.ledger.states())
        self.instances = self._instances()

    def _instances(self) -> list[Instance]:
        day = self.day
        return expand_dependencies(build_instances(
            day.plan.milestones, day.schedule.due, day.schedule.occurrences, day.as_of,
            dict(day.completed), day.states,
        ))


def _load_world(ledger: Ledger, as_of: date | None, plan_path: str | None,
                rollout_source: str | None) -> World:
    settings = get_settings()
    day = load_day(
        settings, as_of, ledger=ledger,
        plan=load_plan(Path(plan_path)) if plan_path else None,
        rollout=load_rollout(rollout_source) if rollout_source else None,
    )
    return World(settings, ledger, day)


def _flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    fid = flow_run.id
    return str(fid) if fid else None


def _under_deployment() -> bool:
    from prefect.runtime import deployment

    return bool(deployment.id)


@task(name="run-milestone-action", task_run_name="åtgärd-{ctx.milestone_id}")
@masked_errors
def run_milestone_action(ctx: ActionContext, action_name: str) -> ActionResult:
    """Carry out one milestone's registered action (idempotent by contract)."""
    from flows.wiring import resolve_action  # the composition root imports this module

    action = resolve_action(action_name)
    if action is None:  # pragma: no cover - guarded by the decision
        raise InputError(f"no action registered as {action_name!r}")
    return action(ctx)


@dataclass
class RunReport:
    """What one reconciler run did (the flow's return value)."""

    as_of: str
    rehearse: bool
    changes: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    skipped: bool = False  # another reconciler run held the lease: this one did nothing

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- the daily run ---------------------------------------------------------------------------


def _apply_due_changes(world: World, facts: Mapping[str, Facts], run_id: str | None) -> int:
    """Store moved dates (audited as ``milestone.rescheduled``); returns how many moved."""
    moved = 0
    with world.ledger.unit_of_work() as s:
        for inst in world.instances:
            f = facts.get(inst.id)
            if f is None or f.state is None or f.state.final or inst.due is None:
                continue
            if f.due != inst.due:
                world.ledger.set_state(s, inst.id, f.state, due=inst.due)
                world.ledger.append_audit(
                    s, actor="samsa-decom", action="milestone.rescheduled",
                    subject=f"milestone:{inst.id}",
                    details={"from": str(f.due) if f.due else None, "to": str(inst.due),
                             "flow_run_id": run_id},
                )
                moved += 1
    return moved


def _save(world: World, t: Transition, run_id: str | None, state: MilestoneState | None = None,
          reason: str | None = None) -> bool:
    with world.ledger.unit_of_work() as s:
        return world.ledger.set_state(
            s, t.milestone_id, state or t.to_state, reason=reason or t.reason, due=t.due,
            flow_run_id=run_id, keep_wait=t.keeps_wait and state is None,
        )


def _save_reason(world: World, milestone_id: str, reason: str) -> None:
    """Keep the ledger's current reason true without a state change (no history entry)."""
    with world.ledger.unit_of_work() as s:
        world.ledger.set_reason(s, milestone_id, reason)


def _request_decision(world: World, milestone_id: str, run_id: str | None) -> str | None:
    """Start a ``confirm-milestone`` run for a waiting milestone unless one is still open."""
    logger = get_run_logger()
    if not _under_deployment():
        logger.info(
            "Milstolpe %s väntar på beslut: starta confirm-milestone med milestone_id=%s "
            "eller kör 'samsa-decom approve %s --approver NAMN'.",
            milestone_id, milestone_id, milestone_id,
        )
        return None
    run_id_asked = start_decision_run(CONFIRM_DEPLOYMENT, {"milestone_id": milestone_id},
                                      f"bekräfta-{milestone_id}")
    if run_id_asked is None:
        return None
    with world.ledger.unit_of_work() as s:
        world.ledger.note_decision_request(s, milestone_id, run_id_asked, run_id)
    return run_id_asked


def _begin_wait_and_send_code(world: World, milestone_id: str, run_id: str | None) -> None:
    """Make sure the milestone's wait is in the audit chain (one that waited before waits were
    audited begins one now), and send its approver the one-time code for it, unless a valid
    one was sent already. A missing channel is logged, not fatal: the day goes on."""
    logger = get_run_logger()
    m = world.plan.milestone(milestone_id.split("@")[0])
    try:
        _wait, sent = open_wait(
            world.ledger, f"milestone:{milestone_id}", approver_channel=m.approver_channel,
            what=milestone_what(world.plan, milestone_id),
            how_to_answer=milestone_how_to_answer(milestone_id),
            details={"milestone": milestone_id, "flow_run_id": run_id},
        )
    except InputError as exc:
        logger.error("Ingen engångskod skickad för %s: %s", milestone_id, exc)
        return
    if sent is not None:
        logger.info("Engångskod för %s skickad till kanalen '%s'%s", milestone_id,
                    sent.issued.channel, "" if sent.delivered else f" (ej levererad: "
                    f"{sent.problem}; nästa avstämning försöker igen)")


def _run_action(world: World, inst: Instance, run_id: str | None) -> ActionResult:
    ctx = ActionContext(
        milestone_id=inst.id, as_of=world.as_of, rehearse=False,
        ledger_url=world.settings.resolved_ledger_url(),
        params=dict(inst.milestone.action_params or {}), flow_run_id=run_id,
    )
    try:
        return run_milestone_action(ctx, inst.milestone.action)
    except Exception as exc:  # noqa: BLE001 - recorded as the milestone's failure
        # the task masks its errors (flows/masking.py); the message names the original type
        return ActionResult(done=False, summary=str(exc))


def _reconcile(world: World, report: RunReport) -> None:
    """Decide and act until nothing changes (a later round sees dates moved by completions)."""
    logger = get_run_logger()
    run_id = _flow_run_id()
    ran: set[str] = set()
    asked: set[str] = set()
    acted = 0

    def apply(t: Transition) -> MilestoneState:
        nonlocal acted
        if t.starts_action and t.milestone_id in ran:  # once per run (waiting or failed)
            return t.from_state or t.to_state
        state = t.to_state
        if t.only_reason:
            _save_reason(world, t.milestone_id, t.reason)
            return state
        saved = t.changes_state and _save(world, t, run_id)
        if saved:
            acted += 1
            report.changes.append(f"{t.milestone_id}: {t.to_state.value}")
            logger.info("%s → %s (%s)", t.milestone_id, t.to_state.value, t.reason)
        elif t.changes_state and t.starts_action:
            # another run saved it `running` since we read the ledger: that run acts on it
            ran.add(t.milestone_id)
            logger.warning("%s startades av en annan körning; hoppar över.", t.milestone_id)
            return MilestoneState.running
        if t.starts_action:
            acted += 1
            ran.add(t.milestone_id)
            state = _act(world, by_id[t.milestone_id], t, run_id, report)
        if t.request_decision and t.milestone_id not in asked:
            asked.add(t.milestone_id)
            _begin_wait_and_send_code(world, t.milestone_id, run_id)
            if _request_decision(world, t.milestone_id, run_id):
                report.requested.append(t.milestone_id)
        return state

    for _round in range(len(world.plan.milestones) + 10):
        world.refresh()
        by_id = {i.id: i for i in world.instances}
        acted = _apply_due_changes(world, world.facts(), run_id)
        if acted:
            report.changes.append(f"{acted} datum flyttade")
        decide(world.instances, world.facts(), world.verdicts, world.as_of,
               _has_action, apply)
        if not acted:
            break
    else:  # pragma: no cover - would mean two rules undo each other
        logger.warning("Avstämningen blev inte stabil; nästa körning fortsätter.")


def _audit_basis(world: World, inst: Instance, run_id: str | None) -> None:
    """Audit what an irreversible milestone's action relies on, just before it runs: its
    gate's verdict and the rollout data (source and digest) that verdict was computed from."""
    verdict = world.verdicts.get(inst.base_id)
    with world.ledger.unit_of_work() as s:
        world.ledger.append_audit(
            s, actor="samsa-decom", action="milestone.irreversible.basis",
            subject=f"milestone:{inst.id}",
            details={"gate": inst.milestone.gate, "gate_open": bool(verdict and verdict.open),
                     "as_of": str(world.as_of), "rollout_source": world.settings.rollout_source,
                     "rollout_sha256": world.day.rollout.digest(),
                     "flow_run_id": run_id},
        )


def _act(world: World, inst: Instance, t: Transition, run_id: str | None,
         report: RunReport) -> MilestoneState:
    """Run one milestone's action (saved ``running`` before) and record how it ended."""
    logger = get_run_logger()
    report.started.append(inst.id)
    if inst.milestone.irreversible:
        _audit_basis(world, inst, run_id)
    result = _run_action(world, inst, run_id)
    summary = scrub_identities(result.summary)
    if result.done:
        _save(world, t, run_id, MilestoneState.done, summary or "klar")
        if inst.milestone.irreversible:
            publish_head(world.ledger, f"irreversible milestone {inst.id} done")
        report.done.append(inst.id)
        report.changes.append(f"{inst.id}: done")
        logger.info("%s klar: %s", inst.id, summary)
        return MilestoneState.done
    if result.waiting:
        report.waiting.append(inst.id)
        logger.info("%s pågår och väntar: %s", inst.id, summary)
        return MilestoneState.running
    _save(world, t, run_id, MilestoneState.failed, summary or "misslyckades")
    report.failed.append(f"{inst.id}: {summary}")
    report.changes.append(f"{inst.id}: failed")
    logger.error("%s misslyckades: %s", inst.id, summary)
    return MilestoneState.failed


def _write_status(world: World, facts: Mapping[str, Facts], *, rehearse: bool,
                  notes: list[str]) -> str:
    rows = status_rows(world.instances, facts, world.verdicts, world.as_of,
                       world.schedule.projected)
    svg = timeline_svg(rows, as_of=world.as_of, transition=world.schedule.transition,
                       title=f"Avveckling av SAMSA – tidslinje per {world.as_of}"
                       + (" (repetition)" if rehearse else ""))
    md = status_markdown(
        rows, as_of=world.as_of, transition=world.schedule.transition,
        transition_confirmed=world.schedule.transition_confirmed, svg=svg,
        rehearsal=rehearse, notes=notes,
    )
    create_markdown_artifact(
        key=REHEARSAL_KEY if rehearse else STATUS_KEY,
        markdown=md,
        description=f"Avvecklingens läge per {world.as_of}"
        + (" (repetition, inget sparat)" if rehearse else ""),
    )
    return md


def _run_name() -> str:
    """``avstämning-2026-11-27`` or ``repetition-2028-06-01`` in the UI's run list."""
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    day = params.get("as_of") or _today(get_settings())
    return f"{'repetition' if params.get('rehearse') else 'avstämning'}-{day}"


@flow(name="reconcile-phaseout", flow_run_name=_run_name, log_prints=False)
@masked_errors
def reconcile_phaseout(
    as_of: date | None = None,
    rehearse: bool = False,
    plan_path: str | None = None,
    rollout_source: str | None = None,
) -> dict[str, Any]:
    """Daily check of SAMSA's phase-out: start what is due and allowed, ask people to decide.

    Reads the plan, the successor's rollout and the ledger; moves dates that hang on the
    rollout; starts every milestone whose dependencies are done, whose gate is open and whose
    date has come. Manual and irreversible steps wait for a person's decision (a
    `confirm-milestone` run with a form). Writes the `phaseout-status` artifact: the milestone
    table and a timeline.

    - `as_of`: the day to act as (default: today). With `rehearse`, any date can be tried.
    - `rehearse`: only show what would happen (artifact `phaseout-rehearsal`); nothing is
      written to the ledger and no action runs.
    - `plan_path`, `rollout_source`: override the configured plan file and rollout source.

    `as_of`, `plan_path` and `rollout_source` are for rehearsals only: a real run given any
    of them is refused.
    """
    refuse_overrides(rehearse, as_of=as_of, plan_path=plan_path, rollout_source=rollout_source)
    with Ledger.open(get_settings().resolved_ledger_url()) as ledger:
        if rehearse:
            return _reconcile_day(_load_world(ledger, as_of, plan_path, rollout_source), True)
        with ledger.held("reconcile-phaseout") as mine:
            if not mine:
                get_run_logger().warning(
                    "En annan avstämning pågår; den här gör ingenting (nästa körning fortsätter).")
                return RunReport(as_of=str(clock_today(get_settings().timezone)),
                                 rehearse=False, skipped=True).as_dict()
            return _reconcile_day(_load_world(ledger, as_of, plan_path, rollout_source), False)


def _delete_old_request_identities(world: World) -> None:
    """Gallring: the identities of person requests answered longer ago than their retention
    leave the ledger (counted from today, whatever day the run reconciles)."""
    from tasks.extracts.requests import delete_identities

    days = world.settings.person_request_retention_days
    deleted = delete_identities(world.ledger, as_of=_today(world.settings), retention_days=days)
    if deleted:
        get_run_logger().info("%d besvarade registerutdragsbegärandens identiteter raderade "
                              "(äldre än %d dagar)", len(deleted), days)  # fmt: skip


def _reconcile_day(world: World, rehearse: bool) -> dict[str, Any]:
    logger = get_run_logger()
    report = RunReport(as_of=str(world.as_of), rehearse=rehearse)
    notes = list(world.schedule.transition_reasons)
    if rehearse:
        result = settle(world.instances, world.facts(), world.verdicts,
                        world.as_of, _has_action)
        for t in result.transitions:
            report.changes.append(f"{t.milestone_id}: {t.to_state.value}")
            if t.starts_action:
                report.started.append(t.milestone_id)
            logger.info("[repetition] %s → %s (%s)", t.milestone_id, t.to_state.value,
                        t.reason)
        notes.insert(0, "Repetition: tabellen visar läget om varje startad åtgärd lyckas; "
                        "inget har sparats i beslutsloggen.")
        _write_status(world, result.facts, rehearse=True, notes=notes)
        return report.as_dict()

    _reconcile(world, report)
    _delete_old_request_identities(world)
    _write_status(world, world.facts(), rehearse=False, notes=notes)
    for problem in world.ledger.unbacked_approvals():
        logger.warning("Ignorerat beslut utan revisionspost: %s", problem)
    publish_head(world.ledger, f"reconcile-phaseout {world.as_of}")
    logger.info("Avstämning per %s: %d ändringar, %d startade, %d klara, %d misslyckade",
                world.as_of, len(report.changes), len(report.started), len(report.done),
                len(report.failed))
    if report.failed:
        raise CheckFailed("milestone action failed: " + "; ".join(report.failed))
    return report.as_dict()


# -- the person's decision -------------------------------------------------------------------


def decision_description(plan: Plan, milestone_id: str, verdict: Any, detail: str,
                         irreversible: bool, manual: bool, due: date | None) -> str:
    """The markdown shown above the form: what is decided, the gate, the warning."""
    m = plan.milestone(milestone_id.split("@")[0])
    if manual:
        ask = ("**Bekräfta att steget är utfört.** Kryssa i *Klar / godkänd* när det är gjort; "
               "lämna tomt om det inte är klart ännu (du tillfrågas igen).")
    else:
        ask = ("**Godkänn att steget körs.** Den dagliga avstämningen utför det vid nästa körning, "
               "efter att förutsättningen prövats igen.")
    gate = "ingen förutsättning" if m.gate is None else (
        f"`{m.gate}`: **{'uppfylld' if verdict.open else 'INTE UPPFYLLD'}** – "
        + "; ".join(verdict.reasons)
    )
    lines = [
        f"## Beslut: {m.title}",
        f"Milstolpe `{milestone_id}` · ansvarig: {m.owner} · klart senast: {due or 'okänt'}",
        "",
        ask,
        "",
        f"- Förutsättning: {gate}",
        f"- Läge i beslutsloggen: {detail or '–'}",
    ]
    if m.description:
        lines += ["", m.description.strip()]
    if irreversible:
        lines += ["", "> ⚠ **Oåterkalleligt.** Det här steget kan inte göras ogjort. Godkänn "
                      "bara om efterträdaren tagit över allt som SAMSA gör för de berörda."]
    if m.approver_channel:
        lines += ["", f"**Engångskod:** koden skickades till godkännarens egen kanal "
                      f"(`{m.approver_channel}`) när beslutet började vänta. Utan rätt kod "
                      "registreras inget beslut; efter fem felaktiga försök spärras koden. "
                      "Har koden kommit bort: `samsa-decom approve "
                      f"{milestone_id} --approver NAMN` skickar en ny."]
    if m.disposal:
        lines += ["", "**Gallringsbeslut:** ange diarienumret för gallringsbeslutet "
                      "(t.ex. RS 2026-01234) för att godkänna raderingen."]
    lines += ["", "Skriv ditt namn: det sparas i beslutsloggen som beslutsfattare."]
    return "\n".join(lines)


def _wait_for_decision(form: type[MilestoneDecision], settings: Settings) -> MilestoneDecision:
    """Wait for the person's answer on the form.

    Under a deployment the run is *suspended*: no process waits for days, and a restart of
    the serving process loses nothing; on resume Prefect runs the flow again from the top
    (everything before this point only reads) and this call returns the answer. Run
    directly (tests, a local run) it *pauses*, keeping the process and polling.
    """
    from prefect.flow_runs import pause_flow_run, suspend_flow_run

    timeout = settings.milestone_approval_timeout_days * 86400
    if _under_deployment():
        answer = suspend_flow_run(wait_for_input=form, timeout=timeout, key="beslut")
    else:
        answer = pause_flow_run(wait_for_input=form, timeout=timeout, key="beslut",
                                poll_interval=settings.approval_poll_seconds)
    forget_stored_answer("beslut")
    return answer


@flow(name="confirm-milestone", log_prints=False)
@masked_errors
def confirm_milestone(milestone_id: str) -> str:
    """A person confirms a manual step or approves an irreversible one (a form in the UI).

    The run pauses on a form: your name, done/approved or not, and a comment. The decision is
    written to the ledger with your name. An approved irreversible step runs on the
    reconciler's next run, and only if its gate is still open then.
    """
    logger = get_run_logger()
    settings = get_settings()
    plan = load_plan(settings.plan_path)
    base_id = milestone_id.split("@")[0]
    try:
        m = plan.milestone(base_id)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    with Ledger.open(settings.resolved_ledger_url()) as ledger:
        why_not = decision_awaited(ledger, milestone_id)
        if why_not is not None:
            logger.info("Inget beslut väntar: %s", why_not)
            return why_not
        rec = ledger.states()[milestone_id]
        rollout = load_rollout(settings.rollout_source)
        verdict = evaluate_gate(plan.gate_for(m), rollout, _today(settings),
                                lang=settings.language)
        form = MilestoneDecision.with_initial_data(
            description=decision_description(plan, milestone_id, verdict, rec.detail,
                                             m.irreversible, not _has_action(m.action),
                                             rec.due),
        )
        decision = _wait_for_decision(form, settings)
        decided = decide_milestone(
            settings, ledger, plan, milestone_id=milestone_id, approver=decision.approver,
            approved=decision.approved, comment=decision.comment, has_action=_has_action,
            flow_run_id=_flow_run_id(), code=decision.code,
            case_number=decision.diarienummer or None,
        )
    outcome = decided.new_state.value if decided.new_state else "väntar på den dagliga avstämningen"
    logger.info("Beslut om %s registrerat (%s, %s): %s", milestone_id, decided.kind,
                "ja" if decided.approved else "nej", outcome)
    return f"{milestone_id}: {'godkänt' if decided.approved else 'ej godkänt'} → {outcome}"


if __name__ == "__main__":  # pragma: no cover - a local rehearsal
    print(reconcile_phaseout(rehearse=True))
