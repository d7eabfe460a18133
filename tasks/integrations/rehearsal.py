"""Rehearsal: what a shutdown would do, without calling anything or changing a step's state.

A rehearsal (dry run) lists, step by step, what a real run would do now: the calls it would
make (variables filled in for reading, secrets hidden), what it would wait for (integrations
to shut down first, a closed gate, the approval at the point of no return), which steps are
already done and would be skipped, and which interrupted steps it would check first. The
lines are kept in the ledger and the rehearsal is audited; nothing else is touched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from models.integrations import Integration
from models.ledger.integrations import StepState
from tasks.integrations.gates import GateAnswer
from tasks.integrations.records import ShutdownRecords
from tasks.integrations.report import IntegrationReport, describe, step_lines


def rehearse(
    records: ShutdownRecords,
    integ: Integration,
    report: IntegrationReport,
    verdict: GateAnswer,
    as_of: date,
    why_blocked: str,
    show: Callable[[str], str],
) -> IntegrationReport:
    """``report`` filled with what a real run would do now (``verdict``: the gate's answer;
    ``why_blocked``: what it would wait for before the gate)."""
    states = records.states(integ)
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
            latest = records.ledger.latest_approval(integ.subject(step.id))
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
            how = describe(step.check, show=show)
            lines.append(f"{step.id}: interrupted earlier; {how} to check whether it is done")
        line = f"{step.id}: {describe(step, show=show)}"
        if step.silent_days:
            line += f", needing {step.silent_days} days without traffic before {as_of}"
        if step.reversible and step.undo is not None:
            line += f" (undo: {describe(step.undo, rehearsal=False, show=show)})"
        lines.append(line)
    records.rehearsed(integ, lines)
    report.status = records.recorded_status(integ)
    report.rehearsal = lines
    waits = [why_blocked] if why_blocked else []
    if not verdict.open:
        waits.append(f"gate {integ.gate}: " + "; ".join(verdict.reasons))
    report.waiting_for = "; ".join(waits)
    report.steps = step_lines(records, integ, rehearse=True, show=show)
    return report
