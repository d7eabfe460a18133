"""Every deployment of samsa-decom, built in one place.

The same list serves two shapes:

* the embedded default (``samsa-decom up``): every deployment served from one process;
* several machines (``samsa-decom deploy --pool samsa-pool``): the deployments registered on a
  process work pool, run by ``prefect worker start`` on as many machines as needed.

The flows themselves are wired in ``flows/wiring.py`` (the composition root,
``DEPLOYED_FLOWS``); a spec here adds what a project manager sees, matched by flow name. A
spec whose flow is not wired (or a wiring that fails to import) is reported by name and
reason instead of silently missing.
Schedules are in Europe/Stockholm, so 06:00 stays 06:00 across summer time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from models.errors import CheckFailed

if TYPE_CHECKING:  # pragma: no cover
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

DEPLOYMENT_NAME = "samsa"
TIMEZONE = "Europe/Stockholm"
WORK_POOL = "samsa-pool"

#: The event the rollout sync emits when a stage of the successor goes live.
STAGE_LIVE_EVENT = "samsa.rollout.stage.live"


@dataclass(frozen=True)
class DeploymentSpec:
    """What a project manager sees of one deployment: name, description, schedule, tags."""

    flow_name: str  # the @flow(name=...), kebab-case
    description: str
    tags: tuple[str, ...]
    cron: str | None = None  # None: on demand only
    parameters: dict[str, Any] = field(default_factory=dict)
    run_on_stage_live: bool = False  # a trigger starts a run when a rollout stage goes live
    one_at_a_time: bool = False  # concurrency limit 1: a second run waits for the first

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{DEPLOYMENT_NAME}"

    @property
    def schedule_text(self) -> str:
        """The schedule in words: "daily 06:00 (Stockholm)", "hourly", "on demand"."""
        if not self.cron:
            return "on demand"
        minute, hour, *rest = self.cron.split()
        if rest == ["*", "*", "*"] and minute.isdigit():
            if hour == "*":
                return "hourly" if minute == "0" else f"hourly at :{int(minute):02d}"
            if hour.isdigit():
                return f"daily {int(hour):02d}:{int(minute):02d} (Stockholm)"
        return f"cron {self.cron} ({TIMEZONE})"


SPECS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        flow_name="reconcile-phaseout",
        description=(
            "Daily check of the whole phase-out (06:00): reads the plan, the successor's "
            "rollout and the ledger, moves dates when the rollout slips, carries out what is "
            "due and allowed, and asks for approval before anything irreversible. Also runs "
            "when a rollout stage goes live. Result: the `phaseout-status` artifact."
        ),
        tags=("samsa", "phaseout", "daily"),
        cron="0 6 * * *",
        run_on_stage_live=True,
        one_at_a_time=True,  # cron, stage-live trigger and manual runs never overlap
    ),
    DeploymentSpec(
        flow_name="confirm-milestone",
        description=(
            "A person confirms or approves one milestone: the run waits (Suspended) until you "
            "open it, press Resume and fill in your name, your decision and a comment. "
            "The decision is recorded in the ledger with your name."
        ),
        tags=("samsa", "phaseout", "approval"),
    ),
    DeploymentSpec(
        flow_name="sync-rollout",
        description=(
            "Hourly check of the successor's (Millennium's) rollout: notices when a stage "
            "goes live, is paused, slips or is cancelled, records it in the ledger and "
            "announces it, so the phase-out plan follows. Result: the `rollout-status` "
            "artifact."
        ),
        tags=("samsa", "rollout", "hourly"),
        cron="0 * * * *",
    ),
    DeploymentSpec(
        flow_name="notify-milestones",
        description=(
            "Daily notices (07:00): tells each milestone's owner by email or chat what is "
            "due soon, what is overdue, which dates moved and what waits for a decision. "
            "`dry_run` shows what would be sent."
        ),
        tags=("samsa", "notify", "daily"),
        cron="0 7 * * *",
    ),
    DeploymentSpec(
        flow_name="archive-samsa-database",
        description=(
            "On demand: archives SAMSA's database as SIARD 2.2 inside an E-ARK/FGS "
            "submission package, verifies every byte against the source and records the "
            "package in the ledger. Nothing in SAMSA is changed."
        ),
        tags=("samsa", "archive", "on-demand"),
    ),
    DeploymentSpec(
        flow_name="deliver-register-extracts",
        description=(
            "On demand: makes each organisation's extract of the records it is responsible "
            "for (a BagIt bag per organisation), delivers it and tracks the receipt."
        ),
        tags=("samsa", "extracts", "on-demand"),
    ),
    DeploymentSpec(
        flow_name="confirm-extract-receipt",
        description=(
            "On demand: a person confirms that one organisation received its register "
            "extract. The run waits (Paused) for your name and confirmation; the ledger "
            "records who confirmed."
        ),
        tags=("samsa", "extracts", "approval"),
    ),
    DeploymentSpec(
        flow_name="extract-person-register",
        description=(
            "On demand: takes one person's request for a register extract (GDPR art. 15, or "
            "a TF request) a step further: the review copy, then the release once approved. "
            "Give the opaque request id only, never a personnummer."
        ),
        tags=("samsa", "extracts", "gdpr", "on-demand"),
    ),
    DeploymentSpec(
        flow_name="approve-extract-release",
        description=(
            "On demand: the decision on releasing one person's register extract after the "
            "case officer's secrecy review. The run waits (Paused) for your name and "
            "decision; the beslutslogg records it for the review the form showed."
        ),
        tags=("samsa", "extracts", "gdpr", "approval"),
    ),
    DeploymentSpec(
        flow_name="shutdown-integrations",
        description=(
            "On demand (and started by the reconciler): shuts one of SAMSA's integrations, or "
            "all in dependency order, down step by step (announce, freeze, drain, disable, "
            "revoke) while its rollout gate is open; the point of no return waits for an "
            "approval form. `rehearse` only shows what would happen."
        ),
        tags=("samsa", "integrations", "on-demand"),
    ),
)


def spec(flow_name: str) -> DeploymentSpec:
    for s in SPECS:
        if s.flow_name == flow_name:
            return s
    raise KeyError(flow_name)


@dataclass(frozen=True)
class MissingFlow:
    """A deployment that cannot be built, with the reason a person can act on."""

    spec: DeploymentSpec
    reason: str

    def __str__(self) -> str:
        return f"{self.spec.full_name}: {self.reason}"


@dataclass
class DeploymentSet:
    deployments: list[RunnerDeployment]
    missing: list[MissingFlow]

    def names(self) -> list[str]:
        return [f"{d.flow_name}/{d.name}" for d in self.deployments]


def find_flow(s: DeploymentSpec) -> tuple[Flow[Any, Any] | None, str | None, str]:
    """``(flow, entrypoint, reason)``: the flow named ``s.flow_name`` in the composition root,
    and its entrypoint (``flows/phaseout.py:reconcile_phaseout``)."""
    try:
        from flows.wiring import DEPLOYED_FLOWS
    except Exception as exc:  # noqa: BLE001 - a broken module is reported, not hidden
        return None, None, f"flows.wiring cannot be imported: {type(exc).__name__}: {exc}"
    for flow in DEPLOYED_FLOWS:
        if flow.name == s.flow_name:
            fn = flow.fn
            return flow, f"{fn.__module__.replace('.', '/')}.py:{fn.__name__}", ""
    return None, None, f"no flow named {s.flow_name!r} is wired in flows/wiring.py"


def stage_live_trigger() -> Any:
    """Runs the reconciler as soon as the rollout sync reports a stage as live."""
    from datetime import timedelta

    from prefect.events import DeploymentEventTrigger
    from prefect.events.schemas.automations import Posture

    return DeploymentEventTrigger(
        name="Rollout stage went live",
        description="A stage of the successor went live: check the phase-out plan now.",
        expect={STAGE_LIVE_EVENT},
        match={"prefect.resource.id": "samsa.rollout.stage.*"},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )


def build_deployments(
    *,
    only: list[str] | None = None,
    for_work_pool: str | None = None,
    strict: bool = False,
) -> DeploymentSet:
    """Build every deployment whose flow exists; report the others in ``missing``.

    ``for_work_pool``: build for a work pool (entrypoints as module paths, so any machine
    with samsa-decom installed can run them) instead of for ``serve()``.
    ``strict``: raise :class:`CheckFailed` naming every missing flow.
    """
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    wanted = [s for s in SPECS if only is None or s.flow_name in only]
    if only is not None:
        unknown = sorted(set(only) - {s.flow_name for s in SPECS})
        if unknown:
            raise CheckFailed(
                f"no such deployment: {', '.join(unknown)} "
                f"(known: {', '.join(s.flow_name for s in SPECS)})"
            )
    deployments: list[RunnerDeployment] = []
    missing: list[MissingFlow] = []
    for s in wanted:
        flow, _entrypoint, reason = find_flow(s)
        if flow is None:
            missing.append(MissingFlow(s, reason))
            continue
        kwargs: dict[str, Any] = {
            "name": DEPLOYMENT_NAME,
            "description": s.description,
            "tags": list(s.tags),
            "parameters": dict(s.parameters),
            "schedules": [Cron(s.cron, timezone=TIMEZONE)] if s.cron else None,
            "triggers": [stage_live_trigger()] if s.run_on_stage_live else None,
            "concurrency_limit": 1 if s.one_at_a_time else None,
        }
        if for_work_pool:
            kwargs["work_pool_name"] = for_work_pool
            kwargs["entrypoint_type"] = EntrypointType.MODULE_PATH
        deployments.append(cast("RunnerDeployment", flow.to_deployment(**kwargs)))
    if strict and missing:
        raise CheckFailed(
            "some deployments cannot be built:\n" + "\n".join(f"  - {m}" for m in missing)
        )
    return DeploymentSet(deployments=deployments, missing=missing)
