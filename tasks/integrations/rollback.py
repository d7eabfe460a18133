"""Rollback: undoing the reversible steps of a shutdown that failed before its point of no return.

When a step at or before the point of no return fails, every reversible step before it that
is ``done`` is undone in reverse order, also steps done by earlier, killed runs: the ledger,
not memory, says what was done. Each is marked ``undone``. An undo that fails stops the
rollback there (audited), so the remaining steps stay as they are. Once the point of no
return is passed nothing is undone.

This is compensation, not a Prefect transaction: a transaction lives in one process's memory
and cannot span a kill or a pause.
"""

from __future__ import annotations

from models import clock
from models.integrations import Integration
from models.ledger.integrations import StepState
from tasks.integrations.hooks import Hooks
from tasks.integrations.records import ShutdownRecords


def roll_back(
    records: ShutdownRecords, hooks: Hooks, integ: Integration, *, before: int | None = None
) -> tuple[list[str], str]:
    """Undo the reversible ``done`` steps before index ``before`` (default: the point of no
    return), newest first. Returns the steps undone and, if an undo failed, why (the
    rollback stops there so the remaining steps stay as they are)."""
    limit = integ.ponr_index if before is None else before
    if integ.point_of_no_return:  # a rollback voids an approval given for the wait there
        records.end_wait(integ.subject(integ.point_of_no_return), "rolled back")
    states = records.states(integ)
    undone: list[str] = []
    for step in reversed(integ.steps[:limit]):
        if not step.reversible or step.undo is None or states[step.id] is not StepState.done:
            continue
        outcome = hooks.run(integ, step, step.undo, "undo", clock.today())
        if not outcome.ok:
            records.undo_failed(integ, step, outcome.detail)
            return undone, f"undo of {step.id} failed: {outcome.detail}"
        records.mark(integ, step, StepState.undone, f"rolled back: {outcome.detail}")
        undone.append(step.id)
    return undone, ""
