"""The ledger on SQLite and PostgreSQL: state history, approvals, the audit chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from ledgers import upgraded
from sqlalchemy import text

from deploy.cli import main
from models.ledger import Ledger, LedgerNotUpgraded, upgrade_ledger
from models.ledger.repository import NoLedger
from models.milestone import MilestoneState


def test_state_change_is_recorded_with_history_and_audit(db_url: str) -> None:
    ledger = upgraded(db_url)
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
    ledger = upgraded(db_url)
    try:
        with ledger.unit_of_work() as s:
            ledger.set_state(s, "m1", MilestoneState.running)
            raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert ledger.states() == {}
    assert ledger.verify_audit().entries == 0


def test_audit_chain_detects_an_edited_row(db_url: str) -> None:
    ledger = upgraded(db_url)
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
    ledger = upgraded(db_url)
    with ledger.unit_of_work() as s:
        for i in range(4):
            ledger.set_state(s, f"m{i}", MilestoneState.ready)
    with ledger.engine.begin() as c:
        c.execute(text("DELETE FROM audit_entry WHERE seq = 2"))
    verdict = ledger.verify_audit()
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)


def test_approval_is_kept_with_its_approver(db_url: str) -> None:
    ledger = upgraded(db_url)
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
    with upgraded(db_url) as first, first.unit_of_work() as s:
        first.set_state(s, "m1", MilestoneState.ready)
    with upgraded(db_url) as ledger:  # a second upgrade migrates nothing and keeps data
        assert ledger.verify_audit().ok
        assert set(ledger.states()) == {"m1"}


def test_opening_a_ledger_never_creates_its_schema(db_url: str) -> None:
    # no SQLite file: no ledger at all; an empty PostgreSQL database: no schema
    missing = NoLedger if db_url.startswith("sqlite") else LedgerNotUpgraded
    with pytest.raises(missing, match="run 'samsa-decom upgrade-ledger'"):
        Ledger.open(db_url)
    with pytest.raises(missing):  # still nothing there: opening made no file and no tables
        Ledger.open(db_url)


def test_a_ledger_behind_the_head_names_the_command(db_url: str) -> None:
    upgrade_ledger(db_url, "0001_foundation")
    with pytest.raises(LedgerNotUpgraded, match="0001_foundation.*samsa-decom upgrade-ledger"):
        Ledger.open(db_url)
    upgrade_ledger(db_url)
    with Ledger.open(db_url) as ledger:
        assert ledger.states() == {}


def test_upgrade_ledger_command_makes_the_configured_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'ledger.sqlite'}"
    assert main(["upgrade-ledger", "--ledger", url]) == 0
    with Ledger.open(url) as ledger:
        assert ledger.verify_audit().ok
