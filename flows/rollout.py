"""The successor's rollout, watched every hour.

Millennium's rollout decides how fast SAMSA may be phased out: a stage that goes live opens
gates, a paused or slipping stage moves dates. This flow reads the rollout (a YAML file, an
HTTP endpoint or a Prefect Variable), compares it with what the ledger saw last time, records
each change in the audit chain and emits a ``samsa.rollout.stage.<kind>`` event for it. A
deployment trigger starts the reconciler as soon as a stage goes live.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.events import emit_event
from prefect.runtime import flow_run

from flows.masking import masked_errors
from models.settings import get_settings
from tasks.rollout import StageChange, StageView, diff_stages, load_snapshots, save_snapshots


@dataclass
class RolloutSyncReport:
    """What one sync found: how many stages, and each change (empty when nothing moved)."""

    stages: int
    baseline: bool
    changes: list[dict[str, object]] = field(default_factory=list)


@task(retries=2, retry_delay_seconds=[10, 60])
@masked_errors
def read_rollout(source: str) -> list[StageView]:
    """Read the rollout from its source (retried: the source may be a web service)."""
    from tasks.rollout_source import load_rollout

    return [StageView.of(s) for s in load_rollout(source).stages]


def emit_change(change: StageChange) -> None:
    """Announce one change as a Prefect event, with the stage as the resource."""
    emit_event(
        event=change.event,
        resource={
            "prefect.resource.id": f"samsa.rollout.stage.{change.stage.stage_id}",
            "prefect.resource.name": change.stage.name,
            "samsa.rollout.status": change.stage.status,
        },
        payload=change.payload(),
    )


_TEXT = {
    "sv": {
        "title": "# Millenniums införande",
        "baseline": "Första avläsningen: sparad som utgångsläge, inga händelser.",
        "changes": "**Ändringar sedan förra avläsningen:**",
        "none": "Ingen ändring sedan förra avläsningen.",
        "head": "| etapp | status | planerad driftstart | i drift sedan | pausad |",
        "status": {"planned": "planerad", "live": "i drift", "paused": "pausad",
                   "cancelled": "inställd"},
    },
    "en": {
        "title": "# Millennium rollout",
        "baseline": "First look at the rollout: recorded as the baseline, no events.",
        "changes": "**Changes since the last look:**",
        "none": "No change since the last look.",
        "head": "| stage | status | planned go-live | live since | paused on |",
        "status": {},
    },
}  # fmt: skip


def status_markdown(
    stages: list[StageView], changes: list[StageChange], baseline: bool, lang: str = "sv"
) -> str:
    """The `rollout-status` artifact: every stage, and what changed since the last look."""
    t = _TEXT.get(lang, _TEXT["en"])
    names: dict[str, str] = t["status"]  # type: ignore[assignment]
    lines = [str(t["title"]), ""]
    if baseline:
        lines.append(str(t["baseline"]))
    elif changes:
        lines.append(str(t["changes"]))
        lines += [f"- `{c.event}` {c.summary}" for c in changes]
    else:
        lines.append(str(t["none"]))
    lines += ["", str(t["head"]), "|---|---|---|---|---|"]
    for s in stages:
        lines.append(
            f"| {s.name} | {names.get(s.status, s.status)} | {s.planned_go_live or ''} "
            f"| {s.actual_go_live or ''} | {s.paused_on or ''} |"
        )
    return "\n".join(lines)


@flow(name="sync-rollout", log_prints=False)
@masked_errors
def sync_rollout(source: str | None = None, announce: bool = True) -> RolloutSyncReport:
    """Check the successor's rollout and announce what changed.

    Reads the rollout (default: the configured rollout source), compares every stage with
    the last check and records each change in the ledger: a stage that went live, was paused,
    slipped, was cancelled or resumed. Each change is also sent as a `samsa.rollout.stage.*`
    event; a stage going live starts the phase-out reconciler.

    Args:
        source: Where to read the rollout: a YAML file, an http(s) URL or `variable:NAME`.
            Empty means the configured source.
        announce: Send events for the changes (turn off to only record them).
    """
    logger = get_run_logger()
    settings = get_settings()
    from models.ledger import Ledger

    ledger = Ledger.open(settings.resolved_ledger_url())
    try:
        stages = read_rollout(source or settings.rollout_source)
        before = load_snapshots(ledger)
        baseline = not before
        changes = diff_stages(before, stages)
        for c in changes:
            logger.info("rollout change: %s", c.summary)
            if announce:
                emit_change(c)  # before saving: a lost save repeats an event, never loses one
        save_snapshots(ledger, stages, changes, flow_run_id=str(flow_run.get_id() or ""))
    finally:
        ledger.close()
    create_markdown_artifact(
        key="rollout-status",
        markdown=status_markdown(stages, changes, baseline, settings.language),
        description="The successor's rollout, stage by stage, and what changed.",
    )
    logger.info("%d stages read, %d changes", len(stages), len(changes))
    return RolloutSyncReport(
        stages=len(stages), baseline=baseline, changes=[c.payload() for c in changes]
    )


if __name__ == "__main__":  # pragma: no cover
    sync_rollout()
