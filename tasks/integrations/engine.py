"""The shutdown engine: walks one integration's steps against the ledger.

Rules (the same under Prefect, the CLI and the reconciler; only the :class:`Hooks` differ):

- **Order.** An integration starts only when every integration in its ``shutdown_after`` is
  shut down, and only while its gate is open. A closed gate is not a failure: the integration
  is recorded as *waiting* with the gate's reasons, and nothing is touched.
- **Never twice.** A step is marked ``running`` before it executes and ``done`` after, each in
  its own committed unit of work. A ``done`` step is never run again. A step found
  ``running`` (the run was killed in it) is re-checked: its ``check`` action runs, and if it
  passes the step is marked done without repeating it; a step without a check is idempotent
  by declaration (the catalogue refuses any other) and is run again. A manual step found
  ``running`` is waiting for its person.
- **Point of no return.** Before the step named ``point_of_no_return`` runs, the gate is
  evaluated again and an approval for ``integration:<name>:<step>`` must be in the ledger
  (given through the Prefect form, or before the run with ``samsa-decom integrations
  approve``). No approval, a refusal, or a closed gate: the integration waits there.
- **Rollback.** When a step at or before the point of no return fails, every reversible step
  before it that is ``done`` is undone in reverse order (also steps done by earlier, killed
  runs: the ledger, not memory, says what was done) and marked ``undone``. Once the point of
  no return is passed nothing is undone. This is compensation, not a Prefect transaction:
  a transaction lives in one process's memory and cannot span a kill or a pause.
- **Silence.** A step with ``silent_days`` that still sees traffic leaves the integration
  waiting (the step returns to ``pending``); it is tried again on the next run.
- **Rehearsal.** Nothing is called and no step changes state; the engine lists what it
  would do and records the rehearsal.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from models import clock
from models.errors import CheckFailed
from models.identity import scrub_identities
from models.integrations import VAR_RE, Action, Catalogue, Integration, Step, StepKind
from models.ledger import Ledger, utcnow
from models.ledger.integrations import IntegrationLedger, ShutdownStatus, StepState
from tasks.integrations.adapters import DETAIL_LIMIT, ActionOutcome, run_action
from tasks.integrations.notices import FAILURE_TAG, notify_event

ACTOR = "samsa-decom"
#: How long a run holds an integration without renewing (each step renews it).
LEASE = timedelta(hours=12)


@dataclass(frozen=True)
class Decision:
    """A person's answer: an approval of the point of no return or a manual confirmation."""

    person: str
    yes: bool
    comment: str = ""


@dataclass(frozen=True)
class GateAnswer:
    open: bool
    reasons: list[str] = field(default_factory=list)


class Hooks(Protocol):
    """What differs between a Prefect run, the CLI and the reconciler."""

    def gate(self, gate: str | None, as_of: date) -> GateAnswer: ...

    def run(
        self, integ: Integration, step: Step, action: Action, purpose: str, as_of: date
    ) -> ActionOutcome: ...

    def ask_approval(self, integ: Integration, step: Step, why: str) -> Decision | None: ...

    def ask_confirmation(self, integ: Integration, step: Step) -> Decision | None: ...

    def notify(self, subject: str, text: str) -> None: ...


@dataclass
class StepLine:
    """One step as shown in an artifact or the CLI."""

    step_id: str
    phase: str
    kind: str
    state: str
    what: str
    note: str = ""


@dataclass
class IntegrationReport:
    """Where one integration stands after a run (or what a rehearsal would do)."""

    name: str
    title: str
    status: ShutdownStatus
    current_step: str | None = None
    waiting_for: str = ""
    detail: str = ""
    steps: list[StepLine] = field(default_factory=list)
    rehearsal: list[str] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)


def make_resolver(catalogue: Catalogue, source_url: str) -> Callable[[str], str]:
    return lambda text: catalogue.resolve(text, source_url=source_url)


class PlainHooks:
    """Hooks without Prefect: adapters are called directly; decisions come only from the
    ledger (recorded beforehand through the CLI), so a missing one means *waiting*."""

    def __init__(
        self,
        catalogue: Catalogue,
        source_url: str,
        gate: Callable[[str | None, date], GateAnswer],
        notify: Callable[[str, str], None] | None = None,
    ) -> None:
        self.resolve = make_resolver(catalogue, source_url)
        self._gate = gate
        self._notify = notify

    def gate(self, gate: str | None, as_of: date) -> GateAnswer:
        return self._gate(gate, as_of)

    def run(
        self, integ: Integration, step: Step, action: Action, purpose: str, as_of: date
    ) -> ActionOutcome:
        silent = step.silent_days if purpose in ("step", "check") else None
        return run_action(action, self.resolve, silent_days=silent, as_of=as_of)

    def ask_approval(self, integ: Integration, step: Step, why: str) -> Decision | None:
        return None

    def ask_confirmation(self, integ: Integration, step: Step) -> Decision | None:
        return None

    def notify(self, subject: str, text: str) -> None:
        if self._notify is not None:
            self._notify(subject, text)


def describe(
    action: Action, *, rehearsal: bool = True, show: Callable[[str], str] = lambda t: t
) -> str:
    """``would call POST http://…`` / ``would run SQL …``. ``show`` fills in variables for
    display (secrets stay as ``${env:…}``, passwords are hidden)."""
    verb = "would " if rehearsal else ""
    if action.kind is StepKind.http:
        return f"{verb}call {action.method.upper()} {show(action.url or '')}"
    if action.kind is StepKind.sql:
        return (
            f"{verb}run SQL on {show(action.database)}: {' '.join(show(action.sql or '').split())}"
        )
    if action.kind is StepKind.command:
        return f"{verb}run {' '.join(show(a) for a in action.command or [])}"
    return f"{verb}ask a person to confirm: {action.instructions}"


def display_resolver(catalogue: Catalogue, source_url: str) -> Callable[[str], str]:
    """Variables filled in for people to read: no secrets, no database password."""
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(source_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - display only
        shown = "<source database>"

    def show(text: str) -> str:
        try:
            return catalogue.resolve(text, source_url=shown, secrets=False)
        except Exception:  # noqa: BLE001 - display only
            return text

    return show


def missing_secrets(integ: Integration, env: Mapping[str, str] | None = None) -> list[str]:
    """Environment variables (``${env:NAME}``) its steps, undos and checks need but that are
    not set: checked before anything is touched."""
    env = os.environ if env is None else env
    names: set[str] = set()
    for step in integ.steps:
        for action in (step, step.undo, step.check):
            if action is None:
                continue
            texts = [
                action.url or "",
                action.sql or "",
                action.database,
                *(action.command or []),
                *action.headers.values(),
            ]
            for text in texts:
                names.update(
                    m.group(1)[4:] for m in VAR_RE.finditer(text) if m.group(1).startswith("env:")
                )
    return sorted(n for n in names if n not in env)


class ShutdownEngine:
    """Runs shutdowns for one catalogue against one ledger with the given hooks."""

    def __init__(
        self,
        catalogue: Catalogue,
        ledger: Ledger,
        hooks: Hooks,
        *,
        flow_run_id: str | None = None,
        source_url: str = "",
    ) -> None:
        self.catalogue = catalogue
        self.show = display_resolver(catalogue, source_url)
        self.ledger = ledger
        self.il = IntegrationLedger(ledger)
        self.hooks = hooks
        self.flow_run_id = flow_run_id
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        if flow_run_id:
            self.holder += f":{flow_run_id}"

    # -- the whole catalogue ------------------------------------------------------------
    def run_all(self, *, as_of: date, rehearse: bool = False) -> list[IntegrationReport]:
        """Every integration in dependency order (a waiting one holds back those after it)."""
        reports: dict[str, IntegrationReport] = {}
        for integ in self.catalogue.shutdown_order():
            reports[integ.name] = self.run_one(
                integ.name, as_of=as_of, rehearse=rehearse, earlier=reports
            )
        return list(reports.values())

    # -- one integration ----------------------------------------------------------------
    def run_one(
        self,
        name: str,
        *,
        as_of: date,
        rehearse: bool = False,
        earlier: dict[str, IntegrationReport] | None = None,
    ) -> IntegrationReport:
        integ = self.catalogue.get(name)
        if rehearse:
            return self._run_one(integ, as_of=as_of, rehearse=True, earlier=earlier)
        with self.ledger.unit_of_work() as s:
            other = self.il.acquire(s, integ.name, self.holder, utcnow() + LEASE)
        if other is not None:
            report = IntegrationReport(integ.name, integ.title, self._recorded_status(integ))
            report.waiting_for = f"another run is working on it ({other})"
            report.steps = self._lines(integ, rehearse=False)
            return report
        try:
            return self._run_one(integ, as_of=as_of, rehearse=False, earlier=earlier)
        finally:
            with self.ledger.unit_of_work() as s:
                self.il.release(s, integ.name, self.holder)

    def _run_one(
        self,
        integ: Integration,
        *,
        as_of: date,
        rehearse: bool,
        earlier: dict[str, IntegrationReport] | None,
    ) -> IntegrationReport:
        states = self._states(integ)
        report = IntegrationReport(integ.name, integ.title, ShutdownStatus.not_started)
        if not integ.connected:
            report.detail = "not connected: nothing to shut down"
            report.steps = self._lines(integ, rehearse=rehearse)
            return report

        if all(states[s.id] is StepState.done for s in integ.steps):
            if not rehearse and self._recorded_status(integ) is not ShutdownStatus.shut_down:
                with self.ledger.unit_of_work() as s:  # killed after its last step
                    self.il.set_status(
                        s,
                        integ.name,
                        ShutdownStatus.shut_down,
                        detail="every step done",
                        flow_run_id=self.flow_run_id,
                    )
            report.status = ShutdownStatus.shut_down
            report.steps = self._lines(integ, rehearse=False)
            return report

        blockers = self._blockers(integ, earlier or {}, rehearse)
        why_blocked = "shut down first: " + ", ".join(blockers) if blockers else ""
        if blockers and not rehearse:
            return self._wait(integ, report, None, why_blocked, rehearse)

        missing = missing_secrets(integ)
        if missing and not rehearse:
            text = (
                f"environment variables not set: {', '.join(missing)} (needed by its "
                "steps; nothing was touched)"
            )
            with self.ledger.unit_of_work() as s:
                self.il.set_status(
                    s, integ.name, ShutdownStatus.failed, detail=text, flow_run_id=self.flow_run_id
                )
            self._notify(integ, "cannot-start", f"Integration {integ.name}: cannot start", text)
            report.status = ShutdownStatus.failed
            report.detail = text
            report.steps = self._lines(integ, rehearse=False)
            return report

        verdict = self.hooks.gate(integ.gate, as_of)
        if rehearse:
            if missing:
                why_blocked = "; ".join(
                    filter(
                        None, [why_blocked, f"a real run would fail: not set: {', '.join(missing)}"]
                    )
                )
            return self._rehearse(integ, report, verdict, as_of, why_blocked)
        if not verdict.open:
            why = f"gate {integ.gate}: " + "; ".join(verdict.reasons or ["closed"])
            return self._wait(integ, report, self._first_open_step(integ, states), why, False)

        ponr = integ.ponr_index
        for k, step in enumerate(integ.steps):
            state = states[step.id]
            if state is StepState.done:
                continue
            if k == ponr:
                wait = self._guard_point_of_no_return(integ, step, as_of)
                if wait:
                    return self._wait(integ, report, step.id, wait, False)
            result = self._execute(integ, step, state, as_of)
            if result is None:  # done
                continue
            if result.not_yet:
                return self._wait(integ, report, step.id, result.detail, False)
            return self._fail(integ, report, k, step, result.detail)

        with self.ledger.unit_of_work() as s:
            self.il.set_status(
                s,
                integ.name,
                ShutdownStatus.shut_down,
                detail="every step done",
                flow_run_id=self.flow_run_id,
            )
        report.status = ShutdownStatus.shut_down
        report.steps = self._lines(integ, rehearse=False)
        return report

    # -- steps --------------------------------------------------------------------------
    def _execute(
        self, integ: Integration, step: Step, state: StepState, as_of: date
    ) -> ActionOutcome | None:
        """Run one step; None when it is done, else the outcome that stopped it."""
        if step.kind is StepKind.manual:
            return self._manual(integ, step, state)
        if state is StepState.running and step.check is not None:
            checked = self.hooks.run(integ, step, step.check, "check", as_of)
            if checked.ok:
                self._mark(
                    integ,
                    step,
                    StepState.done,
                    f"interrupted earlier; its check found it done: {checked.detail}",
                )
                return None
        self._mark(integ, step, StepState.running, "", status=ShutdownStatus.in_progress)
        outcome = self.hooks.run(integ, step, step, "step", as_of)
        if outcome.ok:
            self._mark(integ, step, StepState.done, outcome.detail)
            return None
        if outcome.not_yet:
            self._mark(integ, step, StepState.pending, outcome.detail)
        return outcome

    def _manual(self, integ: Integration, step: Step, state: StepState) -> ActionOutcome | None:
        subject = integ.subject(step.id)
        if state is not StepState.running:
            self._mark(
                integ,
                step,
                StepState.running,
                "asked for confirmation",
                status=ShutdownStatus.in_progress,
            )
        started = self.il.steps(integ.name)[step.id].started_at
        recorded = self._decision_since(subject, "confirmation", started)
        if recorded is None:
            decision = self.hooks.ask_confirmation(integ, step)
            if decision is not None:
                with self.ledger.unit_of_work() as s:
                    self.ledger.record_approval(
                        s,
                        subject=subject,
                        kind="confirmation",
                        approver=decision.person,
                        approved=decision.yes,
                        comment=scrub_identities(decision.comment, limit=2000),
                        flow_run_id=self.flow_run_id,
                    )
                recorded = decision
        if recorded is None:
            return ActionOutcome(
                False,
                f"confirmation of {subject} (samsa-decom integrations "
                f"confirm {integ.name} {step.id} --by NAME)",
                not_yet=True,
            )
        if not recorded.yes:
            return ActionOutcome(
                False,
                f"{recorded.person} answered not done: "
                + scrub_identities(recorded.comment, limit=DETAIL_LIMIT),
            )
        self._mark(
            integ, step, StepState.done, f"confirmed by {recorded.person}", actor=recorded.person
        )
        return None

    def _guard_point_of_no_return(self, integ: Integration, step: Step, as_of: date) -> str:
        """Empty when the step may pass; else what it waits for."""
        subject = integ.subject(step.id)
        latest = self.ledger.latest_approval(subject)
        if latest is None or not latest.approved or latest.kind != "approval":
            what = step.title or describe(step, rehearsal=False)
            why = f"point of no return {step.id!r}: {what}; gate {integ.gate or '(none)'}"
            decision = self.hooks.ask_approval(integ, step, why)
            if decision is None:
                if latest is not None and not latest.approved:
                    return (
                        f"approval of {subject} refused by {latest.approver}: "
                        f"{scrub_identities(latest.comment, limit=DETAIL_LIMIT)}"
                    )
                return (
                    f"approval of {subject} (Prefect form, or samsa-decom integrations "
                    f"approve {integ.name} --approver NAME)"
                )
            with self.ledger.unit_of_work() as s:
                self.ledger.record_approval(
                    s,
                    subject=subject,
                    kind="approval",
                    approver=decision.person,
                    approved=decision.yes,
                    comment=scrub_identities(decision.comment, limit=2000),
                    flow_run_id=self.flow_run_id,
                )
            if not decision.yes:
                said = scrub_identities(decision.comment, limit=DETAIL_LIMIT)
                return f"approval of {subject} refused by {decision.person}: {said}"
        verdict = self.hooks.gate(integ.gate, as_of)  # at this very moment
        if not verdict.open:
            return f"gate {integ.gate}: " + "; ".join(verdict.reasons or ["closed"])
        return ""

    def _fail(
        self, integ: Integration, report: IntegrationReport, k: int, step: Step, detail: str
    ) -> IntegrationReport:
        self._mark(integ, step, StepState.failed, detail)
        undone: list[str] = []
        problem = ""
        if k <= integ.ponr_index:
            undone, problem = self.rollback(integ, before=k)
        text = f"step {step.id} failed: {detail}"
        if undone:
            text += f"; rolled back: {', '.join(undone)}"
        if problem:
            text += f"; ROLLBACK INCOMPLETE: {problem}"
        with self.ledger.unit_of_work() as s:
            self.il.set_status(
                s,
                integ.name,
                ShutdownStatus.failed,
                current_step=step.id,
                detail=text,
                flow_run_id=self.flow_run_id,
            )
        attempt = self.il.steps(integ.name)[step.id].attempt
        self._notify(
            integ, f"{step.id}:{attempt}", f"Integration {integ.name}: shutdown failed", text
        )
        report.status = ShutdownStatus.failed
        report.current_step = step.id
        report.detail = text
        report.undone = undone
        report.steps = self._lines(integ, rehearse=False)
        return report

    def rollback(self, integ: Integration, *, before: int | None = None) -> tuple[list[str], str]:
        """Undo the reversible ``done`` steps before index ``before`` (default: the point of no
        return), newest first. Returns the steps undone and, if an undo failed, why (the
        rollback stops there so the remaining steps stay as they are)."""
        limit = integ.ponr_index if before is None else before
        states = self._states(integ)
        undone: list[str] = []
        for step in reversed(integ.steps[:limit]):
            if not step.reversible or step.undo is None or states[step.id] is not StepState.done:
                continue
            outcome = self.hooks.run(integ, step, step.undo, "undo", clock.today())
            if not outcome.ok:
                with self.ledger.unit_of_work() as s:
                    self.ledger.append_audit(
                        s,
                        actor=ACTOR,
                        action="integration.undo.failed",
                        subject=integ.subject(step.id),
                        details={"detail": outcome.detail, "flow_run_id": self.flow_run_id},
                    )
                return undone, f"undo of {step.id} failed: {outcome.detail}"
            self._mark(integ, step, StepState.undone, f"rolled back: {outcome.detail}")
            undone.append(step.id)
        return undone, ""

    # -- rehearsal ----------------------------------------------------------------------
    def _rehearse(
        self,
        integ: Integration,
        report: IntegrationReport,
        verdict: GateAnswer,
        as_of: date,
        why_blocked: str = "",
    ) -> IntegrationReport:
        states = self._states(integ)
        lines: list[str] = []
        if why_blocked:
            lines.append(f"a real run would wait: {why_blocked}")
        if not verdict.open:
            lines.append(
                f"gate {integ.gate} is closed ({'; '.join(verdict.reasons)}): "
                "a real run would wait before the first step"
            )
        elif integ.gate:
            lines.append(f"gate {integ.gate} is open")
        for k, step in enumerate(integ.steps):
            state = states[step.id]
            if state is StepState.done:
                lines.append(f"{step.id}: already done, would be skipped")
                continue
            if k == integ.ponr_index:
                latest = self.ledger.latest_approval(integ.subject(step.id))
                have = (
                    f"approved by {latest.approver}"
                    if latest and latest.approved
                    else "no approval recorded yet"
                )
                lines.append(
                    f"{step.id}: POINT OF NO RETURN: would need the gate open and an "
                    f"approval of {integ.subject(step.id)} ({have})"
                )
            if state is StepState.running and step.check is not None:
                how = describe(step.check, show=self.show)
                lines.append(f"{step.id}: interrupted earlier; {how} to check whether it is done")
            line = f"{step.id}: {describe(step, show=self.show)}"
            if step.silent_days:
                line += f", needing {step.silent_days} days without traffic before {as_of}"
            if step.reversible and step.undo is not None:
                line += f" (undo: {describe(step.undo, rehearsal=False, show=self.show)})"
            lines.append(line)
        with self.ledger.unit_of_work() as s:
            self.il.record_rehearsal(s, integ.name, lines, flow_run_id=self.flow_run_id)
            self.ledger.append_audit(
                s,
                actor=ACTOR,
                action="integration.rehearsal",
                subject=f"integration:{integ.name}",
                details={"steps": len(lines), "flow_run_id": self.flow_run_id},
            )
        report.status = self._recorded_status(integ)
        report.rehearsal = lines
        waits = [why_blocked] if why_blocked else []
        if not verdict.open:
            waits.append(f"gate {integ.gate}: " + "; ".join(verdict.reasons))
        report.waiting_for = "; ".join(waits)
        report.steps = self._lines(integ, rehearse=True)
        return report

    # -- helpers ------------------------------------------------------------------------
    def _states(self, integ: Integration) -> dict[str, StepState]:
        recorded = self.il.steps(integ.name)
        return {
            s.id: recorded[s.id].state if s.id in recorded else StepState.pending
            for s in integ.steps
        }

    def _is_shut_down(self, integ: Integration) -> bool:
        """Every step done, by the ledger's step records (not the status row)."""
        return all(state is StepState.done for state in self._states(integ).values())

    def _recorded_status(self, integ: Integration) -> ShutdownStatus:
        rec = self.il.status(integ.name)
        return rec.status if rec else ShutdownStatus.not_started

    def _blockers(
        self, integ: Integration, earlier: dict[str, IntegrationReport], rehearse: bool
    ) -> list[str]:
        out = []
        for before in integ.shutdown_after:
            if not self.catalogue.get(before).connected:
                continue
            rep = earlier.get(before)
            if rep is not None and rep.status is ShutdownStatus.shut_down:
                continue
            if rep is None and self._is_shut_down(self.catalogue.get(before)):
                continue
            if rehearse and rep is not None:
                continue  # a rehearsal of all shows the whole path
            out.append(before)
        return out

    def _first_open_step(self, integ: Integration, states: dict[str, StepState]) -> str | None:
        for s in integ.steps:
            if states[s.id] is not StepState.done:
                return s.id
        return None

    def _wait(
        self,
        integ: Integration,
        report: IntegrationReport,
        step_id: str | None,
        why: str,
        rehearse: bool,
    ) -> IntegrationReport:
        if not rehearse:
            with self.ledger.unit_of_work() as s:
                self.il.set_status(
                    s,
                    integ.name,
                    ShutdownStatus.waiting,
                    current_step=step_id,
                    waiting_for=why,
                    flow_run_id=self.flow_run_id,
                )
        report.status = ShutdownStatus.waiting if not rehearse else self._recorded_status(integ)
        report.current_step = step_id
        report.waiting_for = why
        report.steps = self._lines(integ, rehearse=rehearse)
        if rehearse:
            report.rehearsal = [f"would wait: {why}"]
        return report

    def _decision_since(self, subject: str, kind: str, since: datetime | None) -> Decision | None:
        for a in reversed(self.ledger.approvals(subject)):
            if a.kind != kind:
                continue
            if since is not None and _naive(a.at) < _naive(since):
                return None
            return Decision(a.approver, a.approved, a.comment)
        return None

    def _notify(self, integ: Integration, event: str, subject: str, text: str) -> None:
        """Tell people (through the notify area's outbox when installed) and the hooks."""
        key = f"integration-failed:{integ.name}:{event}:{self.flow_run_id or self.holder}"
        outcome = notify_event(self.ledger, FAILURE_TAG, key, subject, text)
        self.hooks.notify(subject, f"{text} ({outcome})")

    def _mark(
        self,
        integ: Integration,
        step: Step,
        state: StepState,
        detail: str,
        *,
        actor: str = ACTOR,
        status: ShutdownStatus | None = None,
    ) -> None:
        """One committed unit of work: the step's new state (and the integration's status)."""
        with self.ledger.unit_of_work() as s:
            if state is StepState.running:  # renew this run's hold before a step starts
                other = self.il.acquire(s, integ.name, self.holder, utcnow() + LEASE)
                if other is not None:
                    raise CheckFailed(
                        f"{integ.name}: another run took over ({other}); {step.id} was not started"
                    )
            self.il.mark_step(
                s,
                integ.name,
                step.id,
                state,
                detail=scrub_identities(detail, limit=DETAIL_LIMIT),
                actor=actor,
                flow_run_id=self.flow_run_id,
            )
            if status is not None:
                self.il.set_status(
                    s, integ.name, status, current_step=step.id, flow_run_id=self.flow_run_id
                )

    def _lines(self, integ: Integration, *, rehearse: bool) -> list[StepLine]:
        recorded = self.il.steps(integ.name)
        out = []
        for k, s in enumerate(integ.steps):
            rec = recorded.get(s.id)
            note = "point of no return" if k == integ.ponr_index else ""
            if rec is not None and rec.detail:
                note = f"{note}; {rec.detail}" if note else rec.detail
            what = describe(s, rehearsal=rehearse, show=self.show)
            out.append(
                StepLine(
                    s.id,
                    s.phase.value,
                    s.kind.value,
                    rec.state.value if rec else StepState.pending.value,
                    f"{s.title}: {what}" if s.title else what,
                    scrub_identities(note, limit=200),
                )
            )
        return out


def _naive(value: datetime) -> datetime:
    """UTC without tzinfo (SQLite hands back naive UTC, PostgreSQL aware)."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
