"""Assumptions are marked: every date or offset the strategy does not give carries an
``assumption`` in the plan, ``samsa-decom plan`` (table and ``--json``) and the
``phaseout-status`` artifact show it, costs are shown as estimates, and the cost of a
prolonged parallel run is modelled."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from deploy.cli import main
from models.plan import load_plan
from models.schedule import compute_schedule, parallel_run
from models.settings import PLAN_DIR
from tasks.reconcile import Instance
from tasks.rollout_source import load_rollout
from tasks.status import status_markdown, status_rows

PLAN = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
PAUSED = load_rollout(PLAN_DIR / "rollout.yaml")
RESUMED = load_rollout(PLAN_DIR / "rollout-resumed.yaml")

#: The only dates the strategy (Utvecklingsstrategi 2023-2026) gives: development is phased
#: out in 2025, and decommissioning runs "up to 12 months after the transition".
FROM_STRATEGY = {"stop-new-development": "2025-12-31",
                 "decommissioning-completed": "transition + 12m"}  # fmt: skip


def test_every_date_the_strategy_does_not_give_carries_an_assumption() -> None:
    for m in PLAN.milestones:
        if m.id in FROM_STRATEGY:
            assert m.due == FROM_STRATEGY[m.id]
            continue
        assert m.assumption.strip(), f"{m.id} ({m.due}) has no assumption"
    assert PLAN.budget.parallel_run_cost_per_month_sek
    assert PLAN.budget.parallel_run_assumption.strip()


def test_plan_shows_assumptions_estimates_and_what_a_month_of_slip_costs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base = ["plan", "--as-of", "2026-11-30", "--rollout", str(PLAN_DIR / "rollout.yaml")]
    assert main([*base, "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["stop-new-connections"]["assumption"].startswith("Ett halvår före övergången")
    assert rows["stop-new-development"]["assumption"] is None
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "Antaganden (datum och tidsavstånd som strategin inte anger)" in text
    assert "≈ kr" in text  # the column of cost estimates
    assert "varje månad som övergången skjuts upp kostar ≈ 830 000 kr" in text
    assert "övergången ligger 6 månader efter utrullningens plan (2026-10-15)" in text


def test_a_transition_on_plan_costs_no_parallel_run() -> None:
    day = date(2026, 11, 30)
    slipped = parallel_run(PLAN, PAUSED, compute_schedule(PLAN, PAUSED, day))
    assert slipped is not None and slipped.slip_months == 6
    assert slipped.cost_sek == 6 * 830_000
    on_plan = parallel_run(PLAN, RESUMED, compute_schedule(PLAN, RESUMED, day))
    assert on_plan is not None and on_plan.slip_months == 0 and on_plan.cost_sek == 0


def test_the_status_artifact_lists_the_assumptions() -> None:
    day = date(2026, 11, 30)
    schedule = compute_schedule(PLAN, PAUSED, day)
    instances = [Instance(m.id, m, schedule.due[m.id]) for m in PLAN.milestones]
    rows = status_rows(instances, {}, {}, day, schedule.projected)
    md = status_markdown(rows, as_of=day, transition=schedule.transition,
                         transition_confirmed=False, svg="<svg/>")  # fmt: skip
    assert "Antaganden" in md
    assert "- `samsa-read-only`: 30 dagar efter övergången är en bedömning." in md
    line = next(x for x in md.splitlines() if x.startswith("| `samsa-read-only`"))
    assert "(prognos) *" in line
    dev = next(x for x in md.splitlines() if x.startswith("| `stop-new-development`"))
    assert " *" not in dev.split("|")[4]
