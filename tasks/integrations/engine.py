"""The shutdown engine: walks one integration's steps against the ledger.

Rules (the same under Prefect, the CLI and the reconciler; only the
:class:`~tasks.integrations.hooks.Hooks` differ):

- **Order, secrets, gate.** An integration starts only when those in its ``shutdown_after``
  are shut down and the secrets its steps need are set (:mod:`tasks.integrations.preconditions`),
  and only while its gate is open. A closed gate is not a failure: the integration is
  recorded as *waiting* with the gate's reasons, and nothing is touched.
- **Never twice.** A step is marked ``running`` before it executes and ``done`` after, each in
  its own committed unit of work (:mod:`tasks.integrations.records`). A ``done`` step is never
  run again. A step found ``running`` (the run was killed in it) is re-checked: its ``check``
  call runs, and if it passes the step is marked done without repeating it; a step without a
  check is idempotent by declaration (the catalogue refuses any other) and is run again. A
  manual step found ``running`` is waiting for its person.
- **Point of no return.** It needs a recorded approval and the gate open at that moment
  (:mod:`tasks.integrations.approvals`); otherwise the integration waits there.
- **Rollback.** A step failing at or before the point of no return undoes the reversible
  steps done before it (:mod:`tasks.integrations.rollback`); after it nothing is undone.
- **Silence.** A step with ``silent_days`` that still sees traffic leaves the integration
  waiting (the step returns to ``pending``); it is tried again on the next run.
- **Rehearsal.** Nothing is called and no step changes state; the engine lists what it
  would do and records the rehearsal (:mod:`tasks.integrations.rehearsal`).

Failures are told to people through the notify area (:mod:`tasks.integrations.notices`).
"""

from __future__ import annotations

from datetime import date

from models.integrations import Catalogue, Integration, Step, StepKind
from models.ledger import Ledger
from models.ledger.integrations import ShutdownStatus, StepState
from tasks.audit_heads import publish_head
from tasks.integrations.adapters import CallOutcome
from tasks.integrations.approvals import confirm_manual_step, point_of_no_return_wait
from tasks.integrations.gates import closed_reason
from tasks.integrations.hooks import Hooks
from tasks.integrations.notices import FAILURE_TAG, notify_event
from tasks.integrations.preconditions import blockers, missing_secrets
from tasks.integrations.records import ShutdownRecords
from tasks.integrations.rehearsal import rehearse as rehearse_integration
from tasks.integrations.report import IntegrationReport, StepLine, display_resolver, step_lines
from tasks.integrations.rollback import roll_back


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
        self.records = ShutdownRecords(ledger, flow_run_id)
        self.hooks = hooks

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
        other = self.records.acquire(integ)
        if other is not None:
            report = IntegrationReport(integ.name, integ.title, self.records.recorded_status(integ))
            report.waiting_for = f"another run is working on it ({other})"
            report.steps = self._lines(integ, rehearse=False)
            return report
        try:
            return self._run_one(integ, as_of=as_of, rehearse=False, earlier=earlier)
        finally:
            self.records.release(integ)

    def rollback(self, integ: Integration, *, before: int | None = None) -> tuple[list[str], str]:
        """Undo the reversible ``done`` steps before index ``before`` (default: the point of no
        return); see :func:`tasks.integrations.rollback.roll_back`."""
        return roll_back(self.records, self.hooks, integ, before=before)

    def _run_one(
        self,
        integ: Integration,
        *,
        as_of: date,
        rehearse: bool,
        earlier: dict[str, IntegrationReport] | None,
    ) -> IntegrationReport:
        states = self.records.states(integ)
        report = IntegrationReport(integ.name, integ.title, ShutdownStatus.not_started)
        if not integ.connected:
            report.detail = "not connected: nothing to shut down"
            report.steps = self._lines(integ, rehearse=rehearse)
            return report

        if all(states[s.id] is StepState.done for s in integ.steps):
            if not rehearse and self.records.recorded_status(integ) is not ShutdownStatus.shut_down:
                self._shut_down(integ)  # killed after its last step
            report.status = ShutdownStatus.shut_down
            report.steps = self._lines(integ, rehearse=False)
            return report

        waits_for = blockers(self.catalogue, self.records, integ, earlier or {}, rehearse)
        why_blocked = "shut down first: " + ", ".join(waits_for) if waits_for else ""
        if waits_for and not rehearse:
            return self._wait(integ, report, None, why_blocked)

        missing = missing_secrets(integ)
        if missing and not rehearse:
            text = (
                f"environment variables not set: {', '.join(missing)} (needed by its "
                "steps; nothing was touched)"
            )
            self.records.set_status(integ, ShutdownStatus.failed, detail=text)
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
            return rehearse_integration(
                self.records, integ, report, verdict, as_of, why_blocked, self.show
            )
        if not verdict.open:
            if integ.point_of_no_return:
                self.records.end_wait(integ.subject(integ.point_of_no_return), "gate closed")
            first_open = next(
                (s.id for s in integ.steps if states[s.id] is not StepState.done), None
            )
            return self._wait(integ, report, first_open, closed_reason(integ.gate, verdict))

        ponr = integ.ponr_index
        for k, step in enumerate(integ.steps):
            state = states[step.id]
            if state is StepState.done:
                continue
            if k == ponr:
                wait = point_of_no_return_wait(self.records, self.hooks, integ, step, as_of)
                if wait:
                    return self._wait(integ, report, step.id, wait)
            result = self._execute(integ, step, state, as_of)
            if result is None:  # done
                if k == ponr:
                    self.records.end_wait(integ.subject(step.id), "passed")
                    publish_head(
                        self.records.ledger, f"point of no return {integ.subject(step.id)}"
                    )
                continue
            if result.not_yet:
                return self._wait(integ, report, step.id, result.detail)
            return self._fail(integ, report, k, step, result.detail)

        self._shut_down(integ)
        report.status = ShutdownStatus.shut_down
        report.steps = self._lines(integ, rehearse=False)
        return report

    # -- steps --------------------------------------------------------------------------
    def _execute(
        self, integ: Integration, step: Step, state: StepState, as_of: date
    ) -> CallOutcome | None:
        """Run one step; None when it is done, else the outcome that stopped it."""
        if step.kind is StepKind.manual:
            return confirm_manual_step(self.records, self.hooks, integ, step, state)
        if state is StepState.running and step.check is not None:
            checked = self.hooks.run(integ, step, step.check, "check", as_of)
            if checked.ok:
                self.records.mark(
                    integ,
                    step,
                    StepState.done,
                    f"interrupted earlier; its check found it done: {checked.detail}",
                )
                return None
        self.records.mark(integ, step, StepState.running, "", status=ShutdownStatus.in_progress)
        outcome = self.hooks.run(integ, step, step, "step", as_of)
        if outcome.ok:
            self.records.mark(integ, step, StepState.done, outcome.detail)
            return None
        if outcome.not_yet:
            self.records.mark(integ, step, StepState.pending, outcome.detail)
        return outcome

    def _fail(
        self, integ: Integration, report: IntegrationReport, k: int, step: Step, detail: str
    ) -> IntegrationReport:
        self.records.mark(integ, step, StepState.failed, detail)
        if integ.point_of_no_return:
            self.records.end_wait(integ.subject(integ.point_of_no_return), f"{step.id} failed")
        undone: list[str] = []
        problem = ""
        if k <= integ.ponr_index:
            undone, problem = self.rollback(integ, before=k)
        text = f"step {step.id} failed: {detail}"
        if undone:
            text += f"; rolled back: {', '.join(undone)}"
        if problem:
            text += f"; ROLLBACK INCOMPLETE: {problem}"
        self.records.set_status(integ, ShutdownStatus.failed, current_step=step.id, detail=text)
        attempt = self.records.il.steps(integ.name)[step.id].attempt
        self._notify(
            integ, f"{step.id}:{attempt}", f"Integration {integ.name}: shutdown failed", text
        )
        report.status = ShutdownStatus.failed
        report.current_step = step.id
        report.detail = text
        report.undone = undone
        report.steps = self._lines(integ, rehearse=False)
        return report

    # -- helpers ------------------------------------------------------------------------
    def _shut_down(self, integ: Integration) -> None:
        self.records.set_status(integ, ShutdownStatus.shut_down, detail="every step done")

    def _wait(
        self, integ: Integration, report: IntegrationReport, step_id: str | None, why: str
    ) -> IntegrationReport:
        """Record that ``integ`` waits (at ``step_id``) for ``why``; nothing more is touched."""
        self.records.set_status(
            integ, ShutdownStatus.waiting, current_step=step_id, waiting_for=why
        )
        report.status = ShutdownStatus.waiting
        report.current_step = step_id
        report.waiting_for = why
        report.steps = self._lines(integ, rehearse=False)
        return report

    def _notify(self, integ: Integration, event: str, subject: str, text: str) -> None:
        """Tell people (through the notify area's outbox when installed) and the hooks."""
        run = self.records.flow_run_id or self.records.holder
        key = f"integration-failed:{integ.name}:{event}:{run}"
        outcome = notify_event(self.records.ledger, FAILURE_TAG, key, subject, text)
        self.hooks.notify(subject, f"{text} ({outcome})")

    def _lines(self, integ: Integration, *, rehearse: bool) -> list[StepLine]:
        return step_lines(self.records, integ, rehearse=rehearse, show=self.show)
