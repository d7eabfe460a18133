"""Attacks on the audit chain and on decisions, tried on SQLite and PostgreSQL.

The attacker can write the ledger's database but holds neither the audit key (kept in
``SAMSA_DECOM_AUDIT_KEY``) nor the published heads file. Each test does what such a person
would do and asserts what the operator sees: ``audit verify`` exits 1 naming the problem,
and a forged decision counts for nothing.
"""

from __future__ import annotations

from datetime import datetime
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from conftest import TEST_AUDIT_KEY
from integrations_counterpart import AS_OF, Counterpart, World, make_world
from ledgers import upgraded
from sqlalchemy import text

from deploy.cli import main
from models.ledger import Ledger
from models.ledger.audit import GENESIS, entry_hash, key_id, legacy_hash
from models.milestone import MilestoneState
from tasks.audit_heads import check_audit, publish_head, published_heads
from tasks.ledger_view import read_facts


def _history(ledger: Ledger) -> None:
    """A few state changes, the wait they begin and one refusal by Bo Berg (audit entries
    1-6)."""
    with ledger.unit_of_work() as s:
        ledger.set_state(s, "db-deleted", MilestoneState.ready)
        ledger.set_state(s, "db-deleted", MilestoneState.awaiting_approval)
        ledger.record_approval(s, subject="milestone:db-deleted", kind="approval",
                               approver="Bo Berg", approved=False, comment="inte än")
        ledger.set_state(s, "other", MilestoneState.ready)
        ledger.set_state(s, "other", MilestoneState.done)


def _recompute(ledger: Ledger, hasher: str, kid: str | None, *, forge: bool) -> None:
    """Recompute every entry's hash as the attacker can: with the old unkeyed formula
    ("legacy") or with a key of their own. With ``forge``, Bo's refusal becomes Mallory's
    grant first (approval row and audit entry alike)."""
    entries = ledger.audit_entries()
    with ledger.engine.begin() as c:
        if forge:
            c.execute(text("UPDATE approval SET approver='Mallory Malm', approved=:t"),
                      {"t": True})
        prev = GENESIS
        for e in entries:
            actor, action = e.actor, e.action
            if forge and action.startswith("approval."):
                actor, action = "Mallory Malm", "approval.granted"
            args = (prev, e.seq, e.at, actor, action, e.subject, e.details)
            h = legacy_hash(*args) if hasher == "legacy" else entry_hash(hasher.encode(), *args)
            c.execute(text(
                "UPDATE audit_entry SET actor=:a, action=:x, prev_hash=:p, hash=:h, key_id=:k "
                "WHERE seq=:s"
            ), {"a": actor, "x": action, "p": prev, "h": h, "k": kid, "s": e.seq})
            prev = h


def _rewrite(ledger: Ledger, hasher: str, kid: str | None) -> None:
    _recompute(ledger, hasher, kid, forge=True)


@pytest.mark.parametrize(
    ("hasher", "kid"),
    [
        ("legacy", None),  # the formula the chain used before it was keyed
        ("attacker-key-" + "x" * 32, key_id(("attacker-key-" + "x" * 32).encode())),
        ("attacker-key-" + "x" * 32, key_id(TEST_AUDIT_KEY.encode())),  # claims our key id
    ],
    ids=["unkeyed-formula", "own-key", "own-key-claiming-ours"],
)
def test_a_rewritten_and_recomputed_chain_is_caught_and_its_approval_ignored(
    db_url: str, hasher: str, kid: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = upgraded(db_url)
    _history(ledger)
    assert main(["audit", "verify", "--ledger", db_url]) == 0
    capsys.readouterr()

    _rewrite(ledger, hasher, kid)

    assert main(["audit", "verify", "--ledger", db_url]) == 1
    err = capsys.readouterr().err
    assert "audit chain broken at entry 1" in err
    assert "approval 1 of milestone:db-deleted" in err
    assert ledger.approvals("milestone:db-deleted") == []  # Mallory's grant counts for nothing
    assert read_facts(ledger)["db-deleted"].decision is None


def test_deleting_the_newest_entries_is_caught_by_the_published_head(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = upgraded(db_url)
    _history(ledger)
    head = publish_head(ledger, "test")
    assert head.seq == 6
    heads_file = Path(ledger_home()) / "audit-heads.jsonl"
    assert published_heads(heads_file)[-1] == head
    assert heads_file.stat().st_mode & 0o777 == 0o600
    with ledger.engine.begin() as c:
        c.execute(text("DELETE FROM audit_entry WHERE seq >= 5"))
    assert ledger.verify_audit().ok  # the shorter chain alone looks consistent …

    assert main(["audit", "verify", "--ledger", db_url]) == 1  # … but not against its head
    err = capsys.readouterr().err
    assert "chain ends at entry 4 but entry 6 was published" in err


def test_a_head_notice_goes_to_the_revision_tag(db_url: str) -> None:
    ledger = upgraded(db_url)
    _history(ledger)
    publish_head(ledger, "test")
    (row,) = [r for r in ledger.outbox.rows() if r.tag == "revision"]
    assert row.notice_key == f"audit-head:{key_id(TEST_AUDIT_KEY.encode())}:6"
    assert "entry 6" in row.body


def test_an_inserted_approval_row_is_not_honoured_and_is_reported(db_url: str) -> None:
    ledger = upgraded(db_url)
    _history(ledger)
    with ledger.engine.begin() as c:
        c.execute(text(
            "INSERT INTO approval (subject, kind, approver, approved, comment, at, audit_seq) "
            "VALUES ('milestone:db-deleted', 'approval', 'Mallory Malm', :t, '', :at, 4)"
        ), {"t": True, "at": "2026-01-01 00:00:00"})
    assert [a.approver for a in ledger.approvals("milestone:db-deleted")] == ["Bo Berg"]
    decision = read_facts(ledger)["db-deleted"].decision
    assert decision is not None and decision.approver == "Bo Berg" and not decision.approved
    found = check_audit(ledger)
    assert found.problems == ["approval 2 of milestone:db-deleted: audit entry 4 records a "
                              "different decision"]


def test_an_inserted_integration_approval_revokes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.settings import get_settings

    cp = Counterpart().start()
    try:
        w: World = make_world(tmp_path, f"sqlite:///{tmp_path / 'samsa.sqlite'}", cp)
        for k, v in {
            "SAMSA_DECOM_SOURCE_URL": w.db, "SAMSA_DECOM_LEDGER_URL": w.db,
            "SAMSA_DECOM_INTEGRATIONS_PATH": str(tmp_path / "integrations.yaml"),
            "SAMSA_DECOM_PLAN_PATH": str(w.plan), "SAMSA_DECOM_ROLLOUT_SOURCE": str(w.rollout),
        }.items():
            monkeypatch.setenv(k, v)
        get_settings.cache_clear()
        # a real shutdown acts on today: the clock is moved to the day the world is set for
        traveller = time_machine.travel(
            datetime.combine(AS_OF, dt_time(12), tzinfo=ZoneInfo("Europe/Stockholm")), tick=True)
        traveller.start()
        assert main(["integrations", "shutdown", "elvis"]) == 0
        assert "waits for approval of integration:elvis:revoke" in capsys.readouterr().out
        with w.ledger.engine.begin() as c:
            c.execute(text(
                "INSERT INTO approval (subject, kind, approver, approved, comment, at) "
                "VALUES ('integration:elvis:revoke', 'approval', 'Mallory Malm', 1, '', "
                "'2026-12-31 00:00:00')"
            ))
        assert main(["integrations", "shutdown", "elvis"]) == 0
        assert "waits for approval of integration:elvis:revoke" in capsys.readouterr().out
        assert cp.count("POST", "/elvis/revoke") == 0

        # the same decision given for real is acted on, and the head is published there
        assert main(["integrations", "approve", "elvis", "--approver", "Anna Andersson"]) == 0
        assert main(["integrations", "shutdown", "elvis"]) == 0
        assert cp.count("POST", "/elvis/revoke") == 1
        (basis,) = [e.details for e in w.ledger.audit_entries()
                    if e.action == "integration.point_of_no_return.basis"]
        assert basis["gate_open"] is True and basis["rollout_source"] == str(w.rollout)
        assert len(basis["rollout_sha256"]) == 64
        heads = (get_settings().home / "audit-heads.jsonl").read_text().splitlines()
        assert "point of no return integration:elvis:revoke" in heads[-1]
        traveller.stop()
    finally:
        cp.stop()


def test_a_chain_from_before_keys_is_re_anchored_by_rekey(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = upgraded(db_url)
    _history(ledger)
    _recompute(ledger, "legacy", None, forge=False)  # what migration 0008 finds
    assert main(["audit", "verify", "--ledger", db_url]) == 1
    assert "re-anchor it with 'samsa-decom audit rekey'" in capsys.readouterr().err

    assert main(["audit", "rekey", "--ledger", db_url]) == 0
    assert "head 7 published" in capsys.readouterr().out
    assert main(["audit", "verify", "--ledger", db_url]) == 0
    assert "matches published head 7" in capsys.readouterr().out
    assert [a.approver for a in ledger.approvals()] == ["Bo Berg"]

    # rotate again: the old key is named, the new one configured
    new_key = "a-new-audit-key-" + "y" * 32
    monkeypatch.setenv("SAMSA_DECOM_AUDIT_OLD_KEY", TEST_AUDIT_KEY)
    monkeypatch.setenv("SAMSA_DECOM_AUDIT_KEY", new_key)
    from models.settings import get_settings

    get_settings.cache_clear()
    assert main(["audit", "verify", "--ledger", db_url]) == 1  # not yet re-keyed
    assert "not the configured key" in capsys.readouterr().err
    assert main(["audit", "rekey", "--ledger", db_url]) == 0
    assert main(["audit", "verify", "--ledger", db_url]) == 0
    assert [a.approver for a in Ledger.open(db_url).approvals()] == ["Bo Berg"]


def test_rekey_refuses_a_chain_that_does_not_check_with_the_old_key(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = upgraded(db_url)
    _history(ledger)
    _rewrite(ledger, "legacy", None)
    with ledger.engine.begin() as c:
        c.execute(text("UPDATE audit_entry SET subject='milestone:x' WHERE seq=2"))
    assert main(["audit", "rekey", "--ledger", db_url]) == 1
    assert "audit entry 2 does not check with the old key" in capsys.readouterr().err


def ledger_home() -> str:
    from models.settings import get_settings

    return str(get_settings().home)
