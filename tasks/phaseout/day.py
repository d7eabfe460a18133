"""One day of the phase-out: plan + rollout + ledger → dates, gate verdicts and states.

The reconciler (``flows/phaseout.py``), the notices (``tasks/notify``), ``samsa-decom plan``,
``gate`` and ``status`` all ask the same question, "where do we stand on this day?", and
all get their answer from :func:`load_day`:

- **records**: the ledger's milestone rows (empty when nothing is recorded yet);
- **completed**: the day each done milestone was completed
  (:func:`models.schedule.completion_days`, the one answer to "when was it done");
- **schedule**: every milestone's date, with ``after X + 14d`` counted from X's real
  completion and the transition projected from the rollout;
- **gates**: each gate's verdict on the day (by gate name), and **milestone_gates**: the
  verdict guarding each milestone (milestones without a gate are always open).

A :class:`Day` is frozen. Whoever acts during the day and completes milestones asks again
with :meth:`Day.with_records` (the gates stay: same rollout, same day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from models.clock import today
from models.ledger import MilestoneRecord
from models.milestone import MilestoneState
from models.plan import Plan, load_plan
from models.rollout import Rollout
from models.schedule import Schedule, completion_days, compute_schedule
from tasks.gates import GateVerdict, evaluate_gate
from tasks.rollout_source import load_rollout

if TYPE_CHECKING:
    from models.ledger import Ledger
    from models.settings import Settings


@dataclass(frozen=True)
class Day:
    """Where the phase-out stands on ``as_of`` (see the module's docstring)."""

    as_of: date
    zone: str
    lang: str
    plan: Plan
    rollout: Rollout
    records: Mapping[str, MilestoneRecord]
    completed: Mapping[str, date]
    schedule: Schedule
    gates: Mapping[str, GateVerdict]
    milestone_gates: Mapping[str, GateVerdict]

    @property
    def states(self) -> dict[str, MilestoneState]:
        """Ledger id → state, for every milestone the ledger knows."""
        return {mid: r.state for mid, r in self.records.items()}

    def with_records(self, records: Mapping[str, MilestoneRecord]) -> Day:
        """The same day after the ledger changed: completion days and dates again."""
        completed = completion_days(records, self.zone, self.as_of)
        schedule = compute_schedule(self.plan, self.rollout, self.as_of, done_dates=completed,
                                    lang=self.lang)
        return replace(self, records=MappingProxyType(dict(records)),
                       completed=MappingProxyType(completed), schedule=schedule)


def load_day(
    settings: Settings,
    as_of: date | None = None,
    *,
    ledger: Ledger | None = None,
    plan: Plan | None = None,
    rollout: Rollout | None = None,
    lang: str | None = None,
) -> Day:
    """The day's state; what is not given is read from ``settings`` (plan file, rollout
    source, today in the project's time zone). Without ``ledger`` nothing is recorded yet:
    every milestone is pending."""
    as_of = as_of or today(settings.timezone)
    plan = plan or load_plan(Path(settings.plan_path))
    rollout = rollout or load_rollout(settings.rollout_source)
    language = lang or settings.language
    gates = {name: evaluate_gate(gate, rollout, as_of, language, name=name)  # type: ignore[arg-type]
             for name, gate in plan.gates.items()}
    ungated = evaluate_gate(None, rollout, as_of, language)  # type: ignore[arg-type]
    by_milestone = {m.id: gates.get(m.gate, ungated) if m.gate else ungated
                    for m in plan.milestones}
    records = ledger.states() if ledger is not None else {}
    completed = completion_days(records, settings.timezone, as_of)
    return Day(
        as_of=as_of, zone=settings.timezone, lang=language, plan=plan, rollout=rollout,
        records=MappingProxyType(dict(records)), completed=MappingProxyType(completed),
        schedule=compute_schedule(plan, rollout, as_of, done_dates=completed, lang=language),
        gates=MappingProxyType(gates), milestone_gates=MappingProxyType(by_milestone),
    )
