"""The reconciler's decision rules, without Prefect and without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from models.errors import InputError
from models.milestone import MilestoneState as S
from models.plan import load_plan
from models.schedule import compute_schedule
from tasks.gates import GateVerdict, evaluate_gate
from tasks.reconcile import (
    Decision,
    Facts,
    build_instances,
    decide,
    expand_dependencies,
    settle,
)
from tasks.rollout_source import load_rollout

DATA = Path(__file__).parent / "data"
AS_OF = date(2026, 3, 1)
ACTIONS = {"test-ok", "test-crash-once"}
T0 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)


def has_action(name: str) -> bool:
    return name in ACTIONS


@pytest.fixture(scope="module")
def plan():  # type: ignore[no-untyped-def]
    return load_plan(DATA / "reconciler-plan.yaml")


def world(plan, rollout: str = "live", as_of: date = AS_OF, done=None):  # type: ignore[no-untyped-def]
    r = load_rollout(DATA / f"rollout-{rollout}.yaml")
    sched = compute_schedule(plan, r, as_of, done_dates=done or {})
    inst = expand_dependencies(
        build_instances(plan.milestones, sched.due, sched.occurrences, as_of, done or {})
    )
    verdicts = {m.id: evaluate_gate(plan.gate_for(m), r, as_of) for m in plan.milestones}
    return inst, verdicts


def by_id(transitions):  # type: ignore[no-untyped-def]
    return {t.milestone_id: t for t in transitions}


def test_fresh_ledger_starts_what_is_due_and_holds_the_rest(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan)
    t = by_id(decide(inst, {}, verdicts, AS_OF, has_action))
    assert t["a-forbered"].to_state is S.running and t["a-forbered"].starts_action
    # its dependency is not done yet and its date has come: blocked, naming what it waits on
    assert t["b-exportera"].to_state is S.blocked and not t["b-exportera"].starts_action
    assert "a-forbered" in t["b-exportera"].reason
    assert t["f-senare"].to_state is S.pending and not t["f-senare"].starts_action
    # a monthly milestone new to the ledger: this month's occurrence runs, the next is planned
    # (months before the reconciler was adopted are not asked about)
    assert [i for i in t if i.startswith("e-statistik@")] == [
        "e-statistik@2026-03", "e-statistik@2026-04",
    ]
    assert t["e-statistik@2026-03"].starts_action and not t["e-statistik@2026-04"].starts_action
    assert t["e-statistik@2026-04"].to_state is S.pending


def test_settling_stops_at_the_people(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan)
    result = settle(inst, {}, verdicts, AS_OF, has_action)
    states = {k: f.state for k, f in result.facts.items()}
    assert states["a-forbered"] is S.done and states["b-exportera"] is S.done
    assert states["c-radera"] is S.awaiting_approval  # irreversible: a person approves
    assert states["d-informera"] is S.awaiting_approval  # manual: a person confirms
    assert states["f-senare"] is S.pending
    asks = {t.milestone_id for t in result.transitions if t.request_decision}
    assert asks == {"c-radera", "d-informera"}
    # settled: nothing more to do with the same facts
    again = [t for t in decide(inst, result.facts, verdicts, AS_OF, has_action)
             if t.changes_state or t.starts_action]
    assert again == []


def _done_upto_c() -> dict[str, Facts]:
    return {
        "a-forbered": Facts(S.done),
        "b-exportera": Facts(S.done),
        "d-informera": Facts(S.done),
    }


def test_irreversible_never_runs_with_a_closed_gate_even_when_approved(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan, rollout="paused")
    facts = _done_upto_c() | {
        "c-radera": Facts(S.awaiting_approval, awaiting_since=T0,
                          decision=Decision("Anna Andersson", True, T0.replace(hour=9))),
    }
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["c-radera"]
    assert t.to_state is S.blocked and not t.starts_action
    assert "pausad" in t.reason


def test_approved_irreversible_runs_when_the_gate_is_open(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan)
    facts = _done_upto_c() | {
        "c-radera": Facts(S.awaiting_approval, awaiting_since=T0,
                          decision=Decision("Anna Andersson", True, T0.replace(hour=9))),
    }
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["c-radera"]
    assert t.to_state is S.running and t.starts_action and "Anna Andersson" in t.reason


def test_an_approval_does_not_survive_a_gate_that_closed(plan) -> None:  # type: ignore[no-untyped-def]
    # approved, then the gate closed (blocked), now it is open again: ask anew, run nothing
    inst, verdicts = world(plan)
    facts = _done_upto_c() | {
        "c-radera": Facts(S.blocked, awaiting_since=T0,
                          decision=Decision("Anna Andersson", True, T0.replace(hour=9))),
    }
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["c-radera"]
    assert t.to_state is S.awaiting_approval and t.request_decision and not t.starts_action


def test_a_refused_irreversible_step_stays_blocked(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan)
    refusal = Decision("Bo Berg", False, T0.replace(hour=9), comment="vänta på revisionen")
    facts = _done_upto_c() | {"c-radera": Facts(S.awaiting_approval, awaiting_since=T0,
                                                decision=refusal)}
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["c-radera"]
    assert t.to_state is S.blocked and not t.starts_action and not t.request_decision
    assert "Bo Berg" in t.reason and "revisionen" in t.reason
    facts["c-radera"] = Facts(S.blocked, awaiting_since=T0, decision=refusal, detail=t.reason)
    assert "c-radera" not in by_id(decide(inst, facts, verdicts, AS_OF, has_action))


def test_a_changed_reason_is_kept_true_without_a_state_change(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan)
    facts = {"f-senare": Facts(S.pending, detail="väntar på a-forbered")}
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["f-senare"]
    assert t.only_reason and t.reason == "väntar på c-radera"
    facts["f-senare"] = Facts(S.pending, detail="väntar på c-radera")
    assert "f-senare" not in by_id(decide(inst, facts, verdicts, AS_OF, has_action))


def test_manual_not_done_yet_keeps_waiting_and_asks_again(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan)
    facts = {"a-forbered": Facts(S.done), "d-informera": Facts(
        S.awaiting_approval, awaiting_since=T0, decision=Decision("Cecilia", False, T0))}
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["d-informera"]
    assert t.to_state is S.awaiting_approval and t.request_decision and not t.changes_state
    facts["d-informera"] = Facts(S.awaiting_approval, awaiting_since=T0,
                                 decision=Decision("Cecilia", True, T0))
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["d-informera"]
    assert t.to_state is S.done and "Cecilia" in t.reason


def test_a_decision_before_the_milestone_waited_does_not_count(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan)
    facts = _done_upto_c() | {"c-radera": Facts(
        S.pending, decision=Decision("Anna", True, T0))}
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["c-radera"]
    assert t.to_state is S.awaiting_approval and not t.starts_action


def test_running_after_a_kill_runs_its_action_again(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan)
    facts = {"a-forbered": Facts(S.done), "b-exportera": Facts(S.running)}
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["b-exportera"]
    assert t.starts_action and not t.changes_state
    facts["b-exportera"] = Facts(S.failed)
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))["b-exportera"]
    assert t.starts_action and t.to_state is S.running


def test_unregistered_action_is_manual(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan)
    t = by_id(decide(inst, {}, verdicts, AS_OF, lambda _n: False))["a-forbered"]
    assert t.to_state is S.awaiting_approval and t.request_decision and not t.starts_action


def test_date_not_come_is_pending_even_with_everything_else_ready(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan, as_of=date(2026, 1, 5))
    t = by_id(decide(inst, {}, verdicts, date(2026, 1, 5), has_action))
    assert t["a-forbered"].to_state is S.pending and "2026-01-10" in t["a-forbered"].reason
    assert t["e-statistik@2026-01"].to_state is S.running  # its date (Jan 1) has come
    assert t["e-statistik@2026-02"].to_state is S.pending


def test_done_and_skipped_are_left_alone(plan) -> None:  # type: ignore[no-untyped-def]
    inst, verdicts = world(plan, rollout="paused")
    facts = {"a-forbered": Facts(S.done), "b-exportera": Facts(S.skipped)}
    t = by_id(decide(inst, facts, verdicts, AS_OF, has_action))
    assert "a-forbered" not in t and "b-exportera" not in t


def test_recurring_stops_once_its_until_milestone_is_done(plan) -> None:  # type: ignore[no-untyped-def]
    done = {"a-forbered": date(2026, 1, 10), "b-exportera": date(2026, 1, 15),
            "c-radera": date(2026, 2, 1), "f-senare": date(2026, 2, 10)}
    inst, _ = world(plan, as_of=date(2026, 6, 1), done=done)
    ids = [i.id for i in inst if i.base_id == "e-statistik"]
    assert ids == ["e-statistik@2026-02"]  # none after f-senare was done on 2026-02-10


def test_once_a_series_is_recorded_no_month_is_skipped(plan) -> None:  # type: ignore[no-untyped-def]
    r = load_rollout(DATA / "rollout-live.yaml")
    sched = compute_schedule(plan, r, AS_OF)
    states = {"e-statistik@2026-01": S.done, "e-statistik@2026-02": S.failed}
    inst = build_instances(plan.milestones, sched.due, sched.occurrences, AS_OF, {}, states)
    ids = [i.id for i in inst if i.base_id == "e-statistik"]
    # January is done (dropped), February still needs doing, March is due, April is next
    assert ids == ["e-statistik@2026-02", "e-statistik@2026-03", "e-statistik@2026-04"]


def test_dependency_on_a_recurring_milestone_waits_for_every_occurrence(plan) -> None:  # type: ignore[no-untyped-def]
    m = plan.milestone("f-senare").model_copy(update={"depends_on": ["e-statistik"]})
    inst = expand_dependencies(build_instances(
        [plan.milestone("e-statistik"), m], {"f-senare": date(2026, 2, 1)},
        {"e-statistik": [date(2026, 1, 1), date(2026, 2, 1)]}, AS_OF, {},
        {"e-statistik@2026-01": S.pending},
    ))
    f = next(i for i in inst if i.id == "f-senare")
    assert f.depends_on == ("e-statistik@2026-01", "e-statistik@2026-02")


def test_a_dependency_cycle_is_named(plan) -> None:  # type: ignore[no-untyped-def]
    a = plan.milestone("a-forbered").model_copy(update={"depends_on": ["b-exportera"]})
    b = plan.milestone("b-exportera")
    with pytest.raises(InputError, match="a-forbered → b-exportera → a-forbered"):
        build_instances([a, b], {}, {}, AS_OF, {})


def test_gate_reasons_are_in_the_blocked_reason(plan) -> None:  # type: ignore[no-untyped-def]
    inst, _ = world(plan)
    closed = {"c-radera": GateVerdict(False, ["Västra området: planerad 2026-10-15"])}
    facts = _done_upto_c()
    t = by_id(decide(inst, facts, closed, date(2026, 5, 1), has_action))["c-radera"]
    assert t.to_state is S.blocked and "Västra området: planerad 2026-10-15" in t.reason
