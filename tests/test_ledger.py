"""The ledger on SQLite and PostgreSQL: state history, approvals, the audit chain."""

from __future__ import annotations

from sqlalchemy import text

from models.ledger import Ledger, MilestoneState


def test_state_change_is_recorded_with_history_and_audit(db_url: str) -> None:
    ledger = Ledger.open(db_url)
    with ledger.unit_of_work() as s:
        assert ledger.set_state(s, "m1", MilestoneState.ready, reason="datum har kommit")
        assert not ledger.set_state(s, "m1", MilestoneState.ready)  # no change, no history
        ledger.set_state(s, "m1", MilestoneState.done, actor="Anna Andersson")
    hist = ledger.history("m1")
    assert [(h.from_state, h.to_state) for h in hist] == [
        (None, MilestoneState.ready),
        (MilestoneState.ready, MilestoneState.done),
    ]
    assert hist[1].actor == "Anna Andersson"
    assert ledger.states()["m1"].state is MilestoneState.done
    verdict = ledger.verify_audit()
    assert verdict.ok and verdict.entries == 2


def test_failed_unit_of_work_leaves_nothing(db_url: str) -> None:
    ledger = Ledger.open(db_url)
    try:
        with ledger.unit_of_work() as s:
            ledger.set_state(s, "m1", MilestoneState.running)
            raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert ledger.states() == {}
    assert ledger.verify_audit().entries == 0


def test_audit_chain_detects_an_edited_row(db_url: str) -> None:
    ledger = Ledger.open(db_url)
    with ledger.unit_of_work() as s:
        for i in range(5):
            ledger.set_state(s, f"m{i}", MilestoneState.ready)
        ledger.record_approval(
            s, subject="milestone:m3", kind="approval", approver="Bo", approved=True
        )
    assert ledger.verify_audit().ok
    with ledger.engine.begin() as c:
        c.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 3"))
    verdict = ledger.verify_audit()
    assert not verdict.ok
    assert verdict.first_bad_seq == 3
    assert "changed" in verdict.reason


def test_audit_chain_detects_a_deleted_row(db_url: str) -> None:
    ledger = Ledger.open(db_url)
    with ledger.unit_of_work() as s:
        for i in range(4):
            ledger.set_state(s, f"m{i}", MilestoneState.ready)
    with ledger.engine.begin() as c:
        c.execute(text("DELETE FROM audit_entry WHERE seq = 2"))
    verdict = ledger.verify_audit()
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)


def test_approval_is_kept_with_its_approver(db_url: str) -> None:
    ledger = Ledger.open(db_url)
    with ledger.unit_of_work() as s:
        ledger.record_approval(
            s,
            subject="milestone:db-deleted",
            kind="approval",
            approver="Karin Projektledare",
            approved=True,
            comment="Arkivet är godkänt av Regionarkivet",
            flow_run_id="abc",
        )
    got = ledger.latest_approval("milestone:db-deleted")
    assert got is not None
    assert (got.approver, got.approved, got.flow_run_id) == ("Karin Projektledare", True, "abc")
    assert ledger.audit_entries()[-1].action == "approval.granted"


def test_migrations_are_idempotent(db_url: str) -> None:
    Ledger.open(db_url)
    ledger = Ledger.open(db_url)  # second open migrates nothing and keeps data
    assert ledger.verify_audit().ok
