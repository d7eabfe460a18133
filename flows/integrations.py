"""Shut down SAMSA's integrations: in order, gated on the successor's rollout, reversible up to
the point of no return, and past it only with a person's recorded approval.

Run it from the Prefect UI (deployment ``shutdown-integrations/samsa``) for one integration or
all of them; as the action ``integration`` of a plan milestone under the reconciler; or from
the command line (``samsa-decom integrations shutdown NAME``). The rules live in
:mod:`tasks.integrations.engine`; this module adds Prefect: each step is a task run, the
approval and manual confirmations are pause forms, and every run ends with the keyed artifact
``integrations-shutdown``.

A closed gate is not a failure: the run completes, the artifact and the log say what the
integration waits for and why, and the next run picks it up.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.input import RunInput
from pydantic import Field

from flows.actions import ActionContext, ActionResult
from flows.decisions import forget_stored_answer, start_decision_run
from flows.forms import DecisionForm, MaskedComment, OneTimeCode, PersonName
from flows.masking import masked_errors
from models import clock
from models.integrations import Catalogue, Integration, Step, StepCall, load_integrations
from models.ledger import Ledger
from models.ledger.integrations import ShutdownStatus
from models.settings import get_settings, refuse_overrides
from tasks.integrations.adapters import CallOutcome, run_step_call
from tasks.integrations.engine import ShutdownEngine
from tasks.integrations.gates import GateAnswer, PlanGates
from tasks.integrations.hooks import Decision, PlainHooks, make_resolver
from tasks.integrations.report import IntegrationReport

ARTIFACT_KEY = "integrations-shutdown"


class ShutdownApproval(DecisionForm):
    """Approval of an integration's point of no return (it cannot be undone)."""

    approver: PersonName = Field(
        title="Ditt namn (godkännare)",
        description="Ditt fullständiga namn; det sparas i beslutsloggen.",
    )
    approved: bool = Field(
        default=False,
        title="Godkänd",
        description="Kryssa i för att godkänna steget som inte går att ångra; lämna tomt för att "
        "avslå.",
    )
    code: OneTimeCode = Field(
        default="",
        title="Engångskod",
        description="Koden som skickades till din egen kanal när steget började vänta "
        "(t.ex. ABCD-EFGH), när katalogen anger godkännarens kanal. Gäller en gång.",
        max_length=20,
    )
    comment: MaskedComment = Field(
        default="",
        title="Kommentar",
        description="Varför (sparas med beslutet). Skriv inga personnummer.",
    )


class StepConfirmation(DecisionForm):
    """A person confirms a manual shutdown step (e.g. the counterpart was told)."""

    confirmed_by: PersonName = Field(
        title="Ditt namn", description="Ditt fullständiga namn; det sparas i beslutsloggen."
    )
    done: bool = Field(
        default=True,
        title="Utfört",
        description="Utfört? Ta bort krysset om det inte gick (steget misslyckas och de "
        "återställbara stegen före det görs ogjorda).",
    )
    comment: MaskedComment = Field(
        default="",
        title="Kommentar",
        description="Vad som gjordes (t.ex. ett ärendenummer), eller varför inte.",
    )


@task(name="shutdown-step", cache_policy=NO_CACHE, task_run_name="{purpose}-{label}")
@masked_errors
def run_step_task(
    call: StepCall,
    variables: dict[str, str],
    label: str,
    purpose: str,
    silent_days: int | None,
    as_of: date,
) -> CallOutcome:
    """Carry out one step, check or undo of an integration's shutdown."""
    catalogue = Catalogue(variables=variables, integrations=[])
    resolve = make_resolver(catalogue, get_settings().resolved_source_url())
    outcome = run_step_call(call, resolve, silent_days=silent_days, as_of=as_of)
    logger = get_run_logger()
    if outcome.ok:
        logger.info("%s %s: %s", purpose, label, outcome.detail)
    elif outcome.not_yet:
        logger.info("%s %s not yet: %s", purpose, label, outcome.detail)
    else:
        logger.error("%s %s failed: %s", purpose, label, outcome.detail)
    return outcome


class PrefectHooks:
    """Steps as task runs; approvals and confirmations as pause forms in the flow run."""

    def __init__(
        self, catalogue: Catalogue, gates: PlanGates, *, timeout: int, poll_interval: int
    ) -> None:
        self.catalogue = catalogue
        self.gates = gates
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.logger = get_run_logger()

    def gate(self, gate: str | None, as_of: date) -> GateAnswer:
        answer = self.gates(gate, as_of)
        if not answer.open:
            self.logger.warning("gate %s closed: %s", gate, "; ".join(answer.reasons))
        return answer

    def run(
        self, integ: Integration, step: Step, call: StepCall, purpose: str, as_of: date
    ) -> CallOutcome:
        silent = step.silent_days if purpose in ("step", "check") else None
        return run_step_task(
            call, self.catalogue.variables, f"{integ.name}-{step.id}", purpose, silent, as_of
        )

    def ask_approval(self, integ: Integration, step: Step, why: str) -> Decision | None:
        text = (
            f"## Godkänn det oåterkalleliga steget för **{integ.title}** ({integ.name})\n\n"
            f"Steg **{step.id}**: {step.title or step.describe()}.\n\n"
            f"Det går inte att ångra. Motpart: {integ.counterpart}. "
            f"Väntar på: {integ.waits_for or integ.gate or 'inget'}.\n\n"
            "Förutsättningen prövas igen direkt efter ditt godkännande."
        )
        answer = self._pause(ShutdownApproval, text, f"approve-{integ.name}-{step.id}")
        if answer is None:
            return None
        return Decision(answer.approver, answer.approved, answer.comment, code=answer.code)

    def ask_confirmation(self, integ: Integration, step: Step) -> Decision | None:
        text = (
            f"## Bekräfta ett manuellt steg för **{integ.title}** ({integ.name})\n\n"
            f"Steg **{step.id}** ({step.phase.value}): {step.instructions}"
        )
        answer = self._pause(StepConfirmation, text, f"confirm-{integ.name}-{step.id}")
        if answer is None:
            return None
        return Decision(answer.confirmed_by, answer.done, answer.comment)

    def _pause(self, model: type[RunInput], text: str, key: str) -> Any:
        from prefect.exceptions import FlowPauseTimeout
        from prefect.flow_runs import pause_flow_run
        from prefect.runtime import flow_run

        self.logger.info("waiting for a person: %s (form in the UI)", key)
        try:
            answer = pause_flow_run(
                wait_for_input=model.with_initial_data(description=text),
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                key=f"{key}-{flow_run.get_id()}",
            )
            forget_stored_answer(f"{key}-{flow_run.get_id()}")  # it may hold a one-time code
            return answer
        except FlowPauseTimeout:
            self.logger.warning(
                "nobody answered %s within %s s; the integration waits", key, self.timeout
            )
            self._running_again(flow_run.get_id())
            return None

    @staticmethod
    def _running_again(flow_run_id: Any) -> None:
        """After an unanswered form the run goes on (to record *waiting* and finish).

        Prefect fails a run that leaves an expired pause on its own; the integration is not
        failed, it waits, so the run is set back to Running (forced: the pause is over)."""
        from prefect.client.orchestration import get_client
        from prefect.states import Running

        with get_client(sync_client=True) as client:
            client.set_flow_run_state(
                flow_run_id,
                Running(message="no answer to the form; the integration waits"),
                force=True,
            )

    def notify(self, subject: str, text: str) -> None:
        # The failure is in the ledger (failed_shutdowns), the audit chain and the artifact;
        # the notify area sends notices from there.
        self.logger.error("%s: %s", subject, text)


@flow(name="shutdown-integrations", log_prints=False)
@masked_errors
def shutdown_integrations(
    integration: str | None = None,
    rehearse: bool = False,
    as_of: date | None = None,
) -> list[dict[str, Any]]:
    """Shut down one of SAMSA's integrations, or all of them in dependency order.

    Each integration runs its steps (announce, freeze, drain, observe silence, disable, revoke,
    confirm) only while its rollout gate is open. The point of no return asks for approval
    with a form; a failing step undoes the reversible steps before it. `rehearse` shows what
    would happen without touching anything. See the artifact `integrations-shutdown`.
    `as_of` (the day to act as) is for rehearsals only: a real run given it is refused.
    """
    from prefect.runtime import flow_run

    refuse_overrides(rehearse, as_of=as_of)

    logger = get_run_logger()
    settings = get_settings()
    as_of = as_of or clock.today(settings.timezone)
    catalogue = load_integrations(settings.integrations_path)
    gates = PlanGates(settings.plan_path, settings.rollout_source, settings.language)
    hooks = PrefectHooks(
        catalogue,
        gates,
        timeout=settings.integration_approval_timeout_seconds,
        poll_interval=settings.approval_poll_seconds,
    )
    with Ledger.open(settings.resolved_ledger_url()) as ledger:
        engine = ShutdownEngine(
            catalogue,
            ledger,
            hooks,
            flow_run_id=str(flow_run.get_id()),
            source_url=settings.resolved_source_url(),
        )
        if integration:
            reports = [engine.run_one(integration, as_of=as_of, rehearse=rehearse)]
        else:
            reports = engine.run_all(as_of=as_of, rehearse=rehearse)
    for r in reports:
        logger.info(
            "%s: %s%s",
            r.name,
            r.status.value,
            f" (waits for {r.waiting_for})" if r.waiting_for else "",
        )
    publish_artifact(reports, rehearse=rehearse, as_of=as_of)
    failed = [r for r in reports if r.status is ShutdownStatus.failed]
    if failed and not rehearse:
        from models.errors import CheckFailed

        raise CheckFailed("; ".join(f"{r.name}: {r.detail}" for r in failed))
    return [report_dict(r) for r in reports]


def report_dict(r: IntegrationReport) -> dict[str, Any]:
    return {
        "integration": r.name,
        "status": r.status.value,
        "current_step": r.current_step,
        "waiting_for": r.waiting_for,
        "detail": r.detail,
        "undone": r.undone,
        "rehearsal": r.rehearsal,
    }


def render_markdown(reports: list[IntegrationReport], *, rehearse: bool, as_of: date) -> str:
    """The artifact: each integration, its current step, and what waits for whom."""
    head = "Rehearsal (nothing was touched)" if rehearse else "Shutdown"
    out = [
        f"# Integrations: {head}, {as_of.isoformat()}",
        "",
        "| integration | status | current step | waits for | detail |",
        "|---|---|---|---|---|",
    ]
    for r in reports:
        out.append(
            f"| {r.name} | {r.status.value} | {r.current_step or ''} | "
            f"{_cell(r.waiting_for)} | {_cell(r.detail)} |"
        )
    for r in reports:
        out += ["", f"## {r.title} ({r.name})", ""]
        if r.rehearsal:
            out += [f"- {_cell(line)}" for line in r.rehearsal] + [""]
        out += ["| step | phase | kind | state | what | note |", "|---|---|---|---|---|---|"]
        out += [
            f"| {s.step_id} | {s.phase} | {s.kind} | {s.state} | {_cell(s.what)} | "
            f"{_cell(s.note)} |"
            for s in r.steps
        ]
    return "\n".join(out) + "\n"


def publish_artifact(reports: list[IntegrationReport], *, rehearse: bool, as_of: date) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=render_markdown(reports, rehearse=rehearse, as_of=as_of),
        description="Integration shutdown: status, current step and what waits for whom",
    )


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


# -- the reconciler's action "integration" ------------------------------------------------


def run_integration_action(ctx: ActionContext) -> ActionResult:
    """The action ``integration``: shut down ``ctx.params["integration"]``.

    No form is shown here (the reconciler runs unattended): the approval of the point of no
    return must already be in the ledger. A closed gate, a missing approval or confirmation,
    traffic that has not yet stopped: ``waiting``; a failed step: not done, not waiting.
    """
    name = (ctx.params or {}).get("integration")
    if not name:
        from models.errors import InputError

        raise InputError(f"milestone {ctx.milestone_id}: action_params needs `integration`")
    settings = get_settings()
    catalogue = load_integrations(settings.integrations_path)
    gates = PlanGates(settings.plan_path, settings.rollout_source, settings.language)
    hooks = PlainHooks(catalogue, settings.resolved_source_url(), gates)
    with Ledger.open(ctx.ledger_url) as ledger:
        engine = ShutdownEngine(
            catalogue,
            ledger,
            hooks,
            flow_run_id=ctx.flow_run_id,
            source_url=settings.resolved_source_url(),
        )
        r = engine.run_one(name, as_of=ctx.as_of, rehearse=ctx.rehearse)
    details = report_dict(r)
    if ctx.rehearse:
        return ActionResult(
            done=False,
            waiting=True,
            summary=f"{name}: rehearsal, {len(r.rehearsal)} lines",
            details=details,
        )
    if r.status is ShutdownStatus.shut_down:
        return ActionResult(done=True, summary=f"{name}: shut down", details=details)
    if r.status is ShutdownStatus.waiting:
        if _needs_person(r) and _under_deployment():
            asked = request_decision_run(name)
            if asked:
                details["decision_run"] = asked
        return ActionResult(
            done=False,
            waiting=True,
            summary=f"{name}: waits for {r.waiting_for}",
            details=details,
        )
    return ActionResult(done=False, summary=f"{name}: {r.detail}", details=details)


DEPLOYMENT = "shutdown-integrations/samsa"


def _needs_person(r: IntegrationReport) -> bool:
    return r.waiting_for.startswith(("approval of ", "confirmation of "))


def _logger() -> Any:
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        import logging

        return logging.getLogger("samsa_decom.integrations")


def _under_deployment() -> bool:
    from prefect.runtime import deployment

    return bool(deployment.id)


def request_decision_run(integration: str, deployment: str = DEPLOYMENT) -> str | None:
    """Start a run of ``shutdown-integrations`` for ``integration`` so its form waits in the UI
    (the reconciler cannot show one itself), unless such a run is already open. Returns the
    new run's id, or None when one was open or the deployment cannot be reached."""
    return start_decision_run(deployment, {"integration": integration}, f"beslut-{integration}")


if __name__ == "__main__":  # pragma: no cover - one local rehearsal of everything
    shutdown_integrations(rehearse=True)
