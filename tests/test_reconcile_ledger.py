"""What the reconciler reads from and writes to the ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from ledgers import upgraded

from models.errors import InputError
from models.milestone import MilestoneState
from models.schedule import completion_days
from tasks.ledger_view import read_facts, record_decision


def test_only_a_decision_after_the_milestone_started_waiting_counts(db_url: str) -> None:
    lg = upgraded(db_url)
    with lg.unit_of_work() as s:
        lg.set_state(s, "m1", MilestoneState.pending)
        # given too early (before anything waited): must not count later
        lg.record_approval(s, subject="milestone:m1", kind="approval", approver="Tidig",
                           approved=True)
    with lg.unit_of_work() as s:
        lg.set_state(s, "m1", MilestoneState.awaiting_approval, reason="väntar")
    f = read_facts(lg)["m1"]
    assert f.state is MilestoneState.awaiting_approval and f.awaiting_since is not None
    assert f.decision is None
    record_decision(lg, milestone_id="m1", kind="approval", approver="Anna Andersson",
                    approved=True, comment="ok", manual=False, gate_open=True,
                    flow_run_id="run-1")
    f = read_facts(lg)["m1"]
    assert f.decision is not None and f.decision.approver == "Anna Andersson"
    assert f.decision.approved and f.state is MilestoneState.awaiting_approval


def test_a_blocked_milestone_cannot_be_approved_past_its_gate(db_url: str) -> None:
    lg = upgraded(db_url)
    with lg.unit_of_work() as s:
        lg.set_state(s, "m1", MilestoneState.blocked, reason="förutsättningen är inte uppfylld")
    with pytest.raises(InputError, match="is blocked .*förutsättningen är inte uppfylld"):
        record_decision(lg, milestone_id="m1", kind="approval", approver="Anna",
                        approved=True, comment="", manual=False, gate_open=False,
                        flow_run_id=None)
    assert lg.approvals("milestone:m1") == []


def test_manual_confirmation_with_a_closed_gate_is_recorded_but_not_done(db_url: str) -> None:
    lg = upgraded(db_url)
    with lg.unit_of_work() as s:
        lg.set_state(s, "m1", MilestoneState.awaiting_approval)
    rec = record_decision(lg, milestone_id="m1", kind="confirmation", approver="Cecilia",
                          approved=True, comment="", manual=True, gate_open=False,
                          flow_run_id=None)
    assert rec.new_state is None
    assert lg.states()["m1"].state is MilestoneState.awaiting_approval
    assert lg.latest_approval("milestone:m1").approver == "Cecilia"


def test_done_dates_never_lie_after_the_day_acted_as(db_url: str) -> None:
    lg = upgraded(db_url)
    with lg.unit_of_work() as s:
        lg.set_state(s, "m1", MilestoneState.done)
        lg.set_state(s, "m2", MilestoneState.running)
    today = completion_days(lg.states(), "Europe/Stockholm")
    assert set(today) == {"m1"}
    assert completion_days(lg.states(), "Europe/Stockholm", as_of=date(2026, 3, 1)) == {
        "m1": min(today["m1"], date(2026, 3, 1))
    }
