"""What changed in the successor's rollout since the last look, and remembering what was seen.

Plain functions (no Prefect): :func:`diff_stages` compares two views of the rollout stage by
stage; :func:`load_snapshots` / :func:`save_snapshots` keep the last view in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from models.ledger import Ledger, utcnow
from models.ledger.rollout import RolloutStageSnapshot

EVENT_PREFIX = "samsa.rollout.stage"


@dataclass(frozen=True)
class StageView:
    """One stage as seen at one moment (status is one of planned, live, paused, cancelled)."""

    stage_id: str
    name: str
    status: str
    planned_go_live: date | None = None
    actual_go_live: date | None = None
    paused_on: date | None = None
    note: str = ""

    @classmethod
    def of(cls, stage: Any) -> StageView:
        """From a ``models.rollout.Stage`` (or anything with its attributes)."""
        status = getattr(stage, "status", "planned")
        return cls(
            stage_id=str(stage.id),
            name=str(getattr(stage, "name", "") or stage.id),
            status=str(getattr(status, "value", status)),
            planned_go_live=getattr(stage, "planned_go_live", None),
            actual_go_live=getattr(stage, "actual_go_live", None),
            paused_on=getattr(stage, "paused_on", None),
            note=str(getattr(stage, "note", "") or ""),
        )


@dataclass(frozen=True)
class StageChange:
    """One thing that happened to a stage: ``kind`` is live, paused, slipped, cancelled,
    resumed, rescheduled or removed; the event is ``samsa.rollout.stage.<kind>``."""

    kind: str
    stage: StageView
    before: StageView | None
    summary: str

    @property
    def event(self) -> str:
        return f"{EVENT_PREFIX}.{self.kind}"

    def payload(self) -> dict[str, Any]:
        def d(v: date | None) -> str | None:
            return v.isoformat() if v else None

        return {
            "stage": self.stage.stage_id,
            "name": self.stage.name,
            "status": self.stage.status,
            "previous_status": self.before.status if self.before else None,
            "planned_go_live": d(self.stage.planned_go_live),
            "previous_planned_go_live": d(self.before.planned_go_live) if self.before else None,
            "actual_go_live": d(self.stage.actual_go_live),
            "paused_on": d(self.stage.paused_on),
            "summary": self.summary,
        }


_STATUS_KIND = {"live": "live", "paused": "paused", "cancelled": "cancelled"}


def diff_stages(before: Mapping[str, StageView], now: Iterable[StageView]) -> list[StageChange]:
    """The changes from ``before`` (by stage id) to ``now``.

    A stage never seen before is a baseline, not a change. A status change to live, paused or
    cancelled is that event; paused back to planned is ``resumed``; a later planned go-live
    of a stage not yet live is ``slipped`` (earlier: ``rescheduled``); a stage that vanished
    from the rollout is ``removed``.
    """
    changes: list[StageChange] = []
    seen: set[str] = set()
    for stage in now:
        seen.add(stage.stage_id)
        old = before.get(stage.stage_id)
        if old is None:
            continue
        if stage.status != old.status:
            kind = _STATUS_KIND.get(stage.status)
            if kind is None and old.status == "paused":
                kind = "resumed"
            if kind is not None:
                when = stage.actual_go_live or stage.paused_on
                changes.append(
                    StageChange(
                        kind,
                        stage,
                        old,
                        f"{stage.name}: {old.status} → {stage.status}"
                        + (f" ({when.isoformat()})" if when else ""),
                    )
                )
        moved = (
            stage.status not in ("live", "cancelled")
            and old.planned_go_live is not None
            and stage.planned_go_live is not None
            and stage.planned_go_live != old.planned_go_live
        )
        if moved:
            assert stage.planned_go_live is not None and old.planned_go_live is not None
            later = stage.planned_go_live > old.planned_go_live
            changes.append(
                StageChange(
                    "slipped" if later else "rescheduled",
                    stage,
                    old,
                    f"{stage.name}: planned go-live {old.planned_go_live.isoformat()} → "
                    f"{stage.planned_go_live.isoformat()}",
                )
            )
    for stage_id, old in before.items():
        if stage_id not in seen:
            changes.append(
                StageChange("removed", old, old, f"{old.name}: no longer in the rollout")
            )
    return changes


def load_snapshots(ledger: Ledger) -> dict[str, StageView]:
    """The rollout as the last sync saw it (empty on the first sync)."""
    return {
        r.stage_id: StageView(
            stage_id=r.stage_id,
            name=r.name,
            status=r.status,
            planned_go_live=r.planned_go_live,
            actual_go_live=r.actual_go_live,
            paused_on=r.paused_on,
            note=r.note,
        )
        for r in ledger.rollout.stages()
    }


def save_snapshots(
    ledger: Ledger,
    stages: Iterable[StageView],
    changes: list[StageChange],
    *,
    flow_run_id: str | None = None,
) -> None:
    """Store the current view and audit every change, in one transaction."""
    stages = list(stages)
    with ledger.unit_of_work() as session:
        current = {s.stage_id for s in stages}
        for row in ledger.rollout.stages(session):
            if row.stage_id not in current:
                session.delete(row)
        for s in stages:
            found = session.get(RolloutStageSnapshot, s.stage_id)
            row = found if found is not None else RolloutStageSnapshot(stage_id=s.stage_id)
            if found is None:
                session.add(row)
            row.name = s.name
            row.status = s.status
            row.planned_go_live = s.planned_go_live
            row.actual_go_live = s.actual_go_live
            row.paused_on = s.paused_on
            row.note = s.note
            row.seen_at = utcnow()
        for c in changes:
            ledger.append_audit(
                session,
                actor="sync-rollout",
                action=f"rollout.stage.{c.kind}",
                subject=f"rollout-stage:{c.stage.stage_id}",
                details={**c.payload(), "flow_run_id": flow_run_id},
            )
