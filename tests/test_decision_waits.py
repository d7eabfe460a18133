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
