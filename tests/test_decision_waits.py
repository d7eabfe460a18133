"""Approvals bound to their wait, tried as an attacker or a hurried operator would.

An integration's point of no return begins to wait for an approval when a run first reaches
it (audited); only an approval given after that, for that wait, counts. A gate that closes,
a failure or a rollback ends the wait, and the gate is read again just before the step.
Engine tests run on SQLite and PostgreSQL, against the real HTTP counterpart on loopback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from integrations_counterpart import AS_OF, Counterpart, FormHooks, World, make_world

from deploy.cli import main
from models.integrations import Integration, Step
from models.ledger.integrations import ShutdownStatus
from tasks.integrations.gates import PlanGates
from tasks.integrations.hooks import Decision
from tasks.integrations.records import ShutdownRecords

SUBJECT = "integration:elvis:revoke"


@pytest.fixture
def counterpart():
    cp = Counterpart().start()
    yield cp
    cp.stop()


@pytest.fixture
def world(tmp_path: Path, db_url: str, counterpart: Counterpart) -> World:
    return make_world(tmp_path, db_url, counterpart)


def _approve_now(w: World) -> None:
    """A genuine, audit-backed approval recorded straight away, whatever waits."""
    with w.ledger.unit_of_work() as s:
        w.ledger.record_approval(s, subject=SUBJECT, kind="approval", approver="Anna Andersson",
                                 approved=True, comment="i förväg")


def test_an_approval_given_before_the_wait_began_is_void(world: World) -> None:
    _approve_now(world)  # before any run reached the point of no return

    report = world.engine().run_one("elvis", as_of=AS_OF)

    assert report.status is ShutdownStatus.waiting
    assert report.waiting_for.startswith(f"approval of {SUBJECT}")
    assert world.cp.count("POST", "/elvis/revoke") == 0
    assert world.cp.count("POST", "/elvis/disable") == 1  # it got as far as the wait


def test_a_gate_that_closes_and_reopens_voids_the_approval(world: World) -> None:
    assert world.engine().run_one("elvis", as_of=AS_OF).status is ShutdownStatus.waiting
    world.approve()  # for the wait in progress
    world.set_rollout("paused")  # the successor stops before the next run
    closed = world.engine().run_one("elvis", as_of=AS_OF)
    assert closed.status is ShutdownStatus.waiting and "gate" in closed.waiting_for
    world.set_rollout("live")

    reopened = world.engine().run_one("elvis", as_of=AS_OF)

    assert reopened.waiting_for.startswith(f"approval of {SUBJECT}")  # asked anew
    assert world.cp.count("POST", "/elvis/revoke") == 0
    world.approve()
    assert world.engine().run_one("elvis", as_of=AS_OF).status is ShutdownStatus.shut_down
    assert world.cp.count("POST", "/elvis/revoke") == 1


def test_a_rollback_during_the_wait_then_an_approval_revokes_nothing(world: World) -> None:
    engine = world.engine()
    assert engine.run_one("elvis", as_of=AS_OF).status is ShutdownStatus.waiting
    undone, problem = engine.rollback(world.catalogue.get("elvis"))
    assert undone and not problem
    _approve_now(world)  # "approved" after the rollback, for a wait that ended

    world.engine().run_one("elvis", as_of=AS_OF)  # redoes the steps, waits anew

    assert world.cp.count("POST", "/elvis/revoke") == 0
    assert world.ledger.wait_in_progress(SUBJECT) is not None


class RollbackWhileTheFormIsOpen(FormHooks):
    """The form is answered "yes" only after someone rolled the integration back."""

    records: ShutdownRecords

    def ask_approval(self, integ: Integration, step: Step, why: str) -> Decision | None:
        from tasks.integrations.rollback import roll_back

        roll_back(self.records, self, integ)
        return Decision("Anna Andersson", True, "ja")


def test_an_approval_in_a_form_answered_after_a_rollback_revokes_nothing(world: World) -> None:
    engine = world.engine()
    hooks = RollbackWhileTheFormIsOpen(
        world.catalogue, world.db, PlanGates(world.plan, str(world.rollout))
    )
    hooks.answers, hooks.records, engine.hooks = {}, engine.records, hooks

    report = engine.run_one("elvis", as_of=AS_OF)

    assert report.status is ShutdownStatus.waiting
    assert "ended while the decision was asked" in report.waiting_for
    assert world.cp.count("POST", "/elvis/revoke") == 0


def test_integrations_approve_with_no_wait_in_progress_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    args = ["--catalogue", str(tmp_path / "integrations.yaml"), "--ledger", world.db]
    assert main(["integrations", "approve", "elvis", "--approver", "Anna Andersson", *args]) == 2
    assert f"{SUBJECT} is not waiting for an approval" in capsys.readouterr().err
    assert world.ledger.approvals(SUBJECT) == []


def test_a_rollback_while_a_shutdown_run_holds_the_integration_is_refused(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    holder = ShutdownRecords(world.ledger, "a-waiting-run")
    assert holder.acquire(world.catalogue.get("elvis")) is None  # a run waits in its form
    args = ["--catalogue", str(tmp_path / "integrations.yaml"), "--ledger", world.db]

    code = main(["integrations", "rollback", "elvis", "--by", "Carl Ek", "--reason", "x", *args])

    assert code == 1
    assert "a shutdown run is working on it" in capsys.readouterr().err
    assert world.cp.calls == []


# -- milestones: a decision answers the wait in progress, by the audit chain's order ----------

MILESTONE = "milestone:db-deleted"


def _milestone_ledger(db_url: str):  # noqa: ANN202 - a test helper
    from ledgers import upgraded

    return upgraded(db_url)


def _set(ledger, state, **kw) -> None:  # noqa: ANN001
    from models.milestone import MilestoneState

    with ledger.unit_of_work() as s:
        ledger.set_state(s, "db-deleted", MilestoneState(state), **kw)


def _decide(ledger, yes: bool = True, who: str = "Anna Andersson") -> None:  # noqa: ANN001
    with ledger.unit_of_work() as s:
        ledger.record_approval(s, subject=MILESTONE, kind="approval", approver=who,
                               approved=yes, comment="")


def _decision(ledger):  # noqa: ANN001, ANN202
    from tasks.ledger_view import read_facts

    return read_facts(ledger)["db-deleted"].decision


def _move_approval_rows_to_now(ledger) -> None:  # noqa: ANN001
    """What an attacker with write access to the table can do without the audit key: move
    every approval row's time forward (the time is not what binds it)."""
    from sqlalchemy import text

    with ledger.engine.begin() as c:
        c.execute(text("UPDATE approval SET at = :t"), {"t": "2999-01-01 00:00:00"})


def test_a_milestone_approval_given_before_its_wait_began_is_void(db_url: str) -> None:
    ledger = _milestone_ledger(db_url)
    _set(ledger, "ready")
    _decide(ledger)  # genuine and audit-backed, but nothing waited for it yet
    _set(ledger, "awaiting_approval")
    _move_approval_rows_to_now(ledger)

    assert _decision(ledger) is None
    waits = [e for e in ledger.audit_entries() if e.action == "decision.wait.began"]
    assert [e.subject for e in waits] == [MILESTONE]
    _decide(ledger, who="Bo Berg")  # given while it waits: counts
    assert _decision(ledger).approver == "Bo Berg"


def test_a_replayed_approval_of_an_earlier_wait_of_the_same_milestone_is_void(
    db_url: str,
) -> None:
    ledger = _milestone_ledger(db_url)
    _set(ledger, "awaiting_approval")
    _decide(ledger)  # answers the first wait
    assert _decision(ledger).approved
    _set(ledger, "blocked", reason="förutsättningen är inte uppfylld")  # the gate closed
    assert _decision(ledger) is None
    _set(ledger, "awaiting_approval")  # the gate reopened: a new wait
    _move_approval_rows_to_now(ledger)  # the old "yes" made to look new

    assert _decision(ledger) is None
    ended = [e.details["why"] for e in ledger.audit_entries() if e.action == "decision.wait.ended"]
    assert ended == ["blocked"]


def test_a_failure_voids_the_approval_and_a_refusal_stays_the_answer(db_url: str) -> None:
    ledger = _milestone_ledger(db_url)
    _set(ledger, "awaiting_approval")
    _decide(ledger)
    _set(ledger, "running")  # the approved action is carried out under the same wait
    assert _decision(ledger).approved
    _set(ledger, "failed", reason="åtgärden misslyckades")
    assert _decision(ledger) is None  # a retry asks a person again

    _set(ledger, "awaiting_approval")
    _decide(ledger, yes=False, who="Bo Berg")
    _set(ledger, "blocked", reason="avslaget av Bo Berg", keep_wait=True)
    refusal = _decision(ledger)
    assert refusal is not None and not refusal.approved  # why it is blocked
