"""Shutdowns against a real HTTP counterpart on loopback and SAMSA-like databases (SQLite and
PostgreSQL), gated through the plan's real gates and rollout file. No Prefect here: the engine
with plain hooks (the CLI's and the reconciler's way)."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from integrations_counterpart import AS_OF, Counterpart, World, endpoint_mode, make_world

from models.ledger.integrations import IntegrationLedger, ShutdownStatus, StepState

ELVIS_POSTS = ["/elvis/announce", "/elvis/drain", "/elvis/disable", "/elvis/revoke"]


@pytest.fixture
def counterpart():
    cp = Counterpart().start()
    yield cp
    cp.stop()


@pytest.fixture
def world(tmp_path: Path, db_url: str, counterpart: Counterpart) -> World:
    return make_world(tmp_path, db_url, counterpart)


def test_happy_path_shuts_down_in_order_and_never_repeats(world: World) -> None:
    world.approve()
    report = world.engine().run_one("elvis", as_of=AS_OF)

    assert report.status is ShutdownStatus.shut_down, report
    assert world.cp.posts() == ELVIS_POSTS
    assert endpoint_mode(world.db, "elvis") == "read-only"
    assert set(world.states().values()) == {StepState.done}
    assert world.ledger.verify_audit().ok

    calls = len(world.cp.calls)
    again = world.engine().run_one("elvis", as_of=AS_OF)
    assert again.status is ShutdownStatus.shut_down
    assert len(world.cp.calls) == calls  # nothing done twice


def test_failure_mid_way_rolls_back_exactly_the_reversible_steps_done(world: World) -> None:
    world.approve()
    world.cp.fail["/elvis/disable"] = 500
    since = datetime.now(UTC) - timedelta(seconds=1)

    report = world.engine().run_one("elvis", as_of=AS_OF)

    assert report.status is ShutdownStatus.failed
    assert report.undone == ["drain", "freeze"]  # newest first; announce/silence not reversible
    assert world.cp.posts() == [
        "/elvis/announce",
        "/elvis/drain",
        "/elvis/disable",
        "/elvis/undrain",
    ]
    assert endpoint_mode(world.db, "elvis") == "active"  # the sql undo ran
    assert world.states() == {
        "announce": StepState.done,
        "freeze": StepState.undone,
        "drain": StepState.undone,
        "silence": StepState.done,
        "disable": StepState.failed,
    }
    failed = IntegrationLedger(world.ledger).failed_shutdowns(since)
    assert [(f.integration, f.step_id) for f in failed] == [("elvis", "disable")]
    assert "answered 500" in failed[0].detail
    assert world.notices and "rolled back: drain, freeze" in world.notices[0][1]
    from tasks.notify.outbox import outbox  # the failure is handed to the notify area's outbox

    assert [(o.tag, o.notice_key.rsplit(":", 3)[0]) for o in outbox(world.ledger)] == [
        ("operations", "integration-failed:elvis:disable:1")
    ]
    actions = [e.action for e in world.ledger.audit_entries()]
    assert actions.count("integration.step.undone") == 2
    assert world.ledger.verify_audit().ok

    # the next run starts again from the undone steps; announce (done) is not repeated
    world.cp.fail.clear()
    world.cp.calls.clear()
    assert world.engine().run_one("elvis", as_of=AS_OF).status is ShutdownStatus.shut_down
    assert world.cp.posts() == ["/elvis/drain", "/elvis/disable", "/elvis/revoke"]


def test_undo_that_fails_stops_the_rollback_and_says_so(world: World) -> None:
    world.approve()
    world.cp.fail["/elvis/disable"] = 500
    world.cp.fail["/elvis/undrain"] = 503
    report = world.engine().run_one("elvis", as_of=AS_OF)
    assert report.status is ShutdownStatus.failed
    assert "ROLLBACK INCOMPLETE: undo of drain failed" in report.detail
    assert world.states()["freeze"] is StepState.done  # left as it is, reported
    assert endpoint_mode(world.db, "elvis") == "read-only"


def test_failure_after_the_point_of_no_return_undoes_nothing(world: World) -> None:
    world.approve()
    world.cp.fail["/elvis/status"] = 500  # the confirm step
    report = world.engine().run_one("elvis", as_of=AS_OF)
    assert report.status is ShutdownStatus.failed
    assert report.undone == []
    assert world.states()["revoke"] is StepState.done
    assert "/elvis/enable" not in world.cp.posts()


def test_rehearsal_touches_nothing(world: World) -> None:
    reports = world.engine().run_all(as_of=AS_OF, rehearse=True)

    assert world.cp.calls == []
    assert endpoint_mode(world.db, "elvis") == "active"
    assert world.states() == {}
    assert IntegrationLedger(world.ledger).statuses() == {}
    lines = reports[0].rehearsal
    assert f"announce: would call POST {world.cp.url}/elvis/announce" in lines
    assert any(
        line.startswith("freeze: would run SQL on ") and "UPDATE integration_endpoint" in line
        for line in lines
    )
    assert any("POINT OF NO RETURN" in line for line in lines)
    assert [r.integration for r in IntegrationLedger(world.ledger).rehearsals()] == [
        "elvis",
        "utdata",
    ]


def test_no_point_of_no_return_without_a_recorded_approval(world: World) -> None:
    report = world.engine().run_one("elvis", as_of=AS_OF)
    assert report.status is ShutdownStatus.waiting
    assert report.current_step == "revoke"
    assert "approval of integration:elvis:revoke" in report.waiting_for
    assert "/elvis/revoke" not in world.cp.posts()
    assert world.states()["disable"] is StepState.done
    assert "revoke" not in world.states()

    world.approve(yes=False, who="Bo Berg")
    report = world.engine().run_one("elvis", as_of=AS_OF)
    assert report.status is ShutdownStatus.waiting
    assert "refused by Bo Berg" in report.waiting_for
    assert "/elvis/revoke" not in world.cp.posts()

    world.approve(yes=True)
    assert world.engine().run_one("elvis", as_of=AS_OF).status is ShutdownStatus.shut_down
    assert world.cp.count("POST", "/elvis/revoke") == 1
    assert world.cp.count("POST", "/elvis/disable") == 1


def test_closed_gate_touches_nothing_even_with_an_approval(
    tmp_path: Path, db_url: str, counterpart: Counterpart
) -> None:
    w = make_world(tmp_path, db_url, counterpart, status="planned")
    w.approve()
    report = w.engine().run_one("elvis", as_of=AS_OF)
    assert report.status is ShutdownStatus.waiting
    assert report.waiting_for.startswith("gate successor-live: Södra området: planerad")
    assert counterpart.calls == []
    assert w.states() == {}
    rec = IntegrationLedger(w.ledger).status("elvis")
    assert rec is not None and rec.status is ShutdownStatus.waiting
    assert "planerad 2026-10-01" in rec.waiting_for


def test_gate_closing_before_the_point_of_no_return_stops_there(
    tmp_path: Path, db_url: str, counterpart: Counterpart
) -> None:
    # a step half-way pauses the successor's rollout (as the real one did in 2024)
    rollout = tmp_path / "rollout.yaml"
    script = (
        f"import pathlib,sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "from integrations_counterpart import rollout_yaml; "
        f"pathlib.Path({str(rollout)!r}).write_text(rollout_yaml('paused'))"
    )
    extra = (
        f"      - id: rollout-pauses\n        phase: freeze\n        kind: command\n"
        f"        command: [{sys.executable!r}, -c, {script!r}]\n"
        f"        idempotent: true\n"
    )
    w = make_world(tmp_path, db_url, counterpart, extra_step=extra)
    w.approve()
    report = w.engine().run_one("elvis", as_of=AS_OF)
    assert report.status is ShutdownStatus.waiting, report
    assert report.current_step == "revoke"
    assert "pausad sedan 2026-12-02" in report.waiting_for
    assert "/elvis/revoke" not in counterpart.posts()
    assert w.states()["disable"] is StepState.done


def test_traffic_not_yet_silent_waits_and_continues_later(world: World) -> None:
    world.approve()
    report = world.engine().run_one("elvis", as_of=date(2026, 11, 5))
    assert report.status is ShutdownStatus.waiting
    assert report.current_step == "silence"
    assert "silent from 2026-11-15" in report.waiting_for
    assert world.states()["silence"] is StepState.pending
    assert "/elvis/disable" not in world.cp.posts()

    assert world.engine().run_one("elvis", as_of=AS_OF).status is ShutdownStatus.shut_down
    assert world.cp.posts() == ELVIS_POSTS


def test_all_in_dependency_order(world: World) -> None:
    reports = world.engine().run_all(as_of=AS_OF)
    assert [r.name for r in reports] == ["elvis", "utdata"]
    assert reports[1].status is ShutdownStatus.waiting
    assert reports[1].waiting_for == "shut down first: elvis"
    assert endpoint_mode(world.db, "utdata") == "active"

    world.approve()
    world.approve("utdata")
    reports = world.engine().run_all(as_of=AS_OF)
    assert [r.status for r in reports] == [ShutdownStatus.shut_down] * 2
    assert world.cp.posts()[-1] == "/utdata/revoke"
    assert endpoint_mode(world.db, "utdata") == "read-only"


def test_one_integration_alone_waits_for_the_one_before_it(world: World) -> None:
    report = world.engine().run_one("utdata", as_of=AS_OF)
    assert report.status is ShutdownStatus.waiting
    assert report.waiting_for == "shut down first: elvis"
    assert endpoint_mode(world.db, "utdata") == "active"
    world.approve()
    world.approve("utdata")
    assert world.engine().run_one("elvis", as_of=AS_OF).status is ShutdownStatus.shut_down
    assert world.engine().run_one("utdata", as_of=AS_OF).status is ShutdownStatus.shut_down


def test_two_runs_at_once_never_do_a_step_twice(world: World) -> None:
    import threading

    world.approve()
    world.cp.delay["/elvis/drain"] = 1.5  # the first run is busy in this step
    first: dict[str, object] = {}
    t = threading.Thread(
        target=lambda: first.setdefault("r", world.engine().run_one("elvis", as_of=AS_OF))
    )
    t.start()
    while world.cp.count("POST", "/elvis/drain") == 0:
        threading.Event().wait(0.05)
    second = world.engine().run_one("elvis", as_of=AS_OF)
    t.join(30)
    assert "another run is working on it" in second.waiting_for
    assert first["r"].status is ShutdownStatus.shut_down  # type: ignore[attr-defined]
    assert world.cp.posts() == ELVIS_POSTS
    assert IntegrationLedger(world.ledger).status("elvis").holder is None


@pytest.mark.parametrize(
    ("failing", "undone"),
    [
        ("/elvis/announce", []),
        ("/elvis/drain", ["freeze"]),
        ("/elvis/disable", ["drain", "freeze"]),
        ("/elvis/revoke", ["disable", "drain", "freeze"]),  # at the point of no return itself
        ("/elvis/status", []),  # the confirm step, after the point of no return: nothing undone
    ],
)
def test_whichever_step_fails_exactly_the_reversible_done_steps_before_it_are_undone(
    tmp_path: Path, counterpart: Counterpart, failing: str, undone: list[str]
) -> None:
    w = make_world(tmp_path, f"sqlite:///{tmp_path / 'samsa.sqlite'}", counterpart)
    w.approve()
    counterpart.fail[failing] = 502
    report = w.engine().run_one("elvis", as_of=AS_OF)
    assert report.status is ShutdownStatus.failed
    assert report.undone == undone
    states = w.states()
    assert {k for k, v in states.items() if v is StepState.undone} == set(undone)
    undo_paths = {"drain": "/elvis/undrain", "disable": "/elvis/enable"}
    assert [p for p in counterpart.posts() if p in ("/elvis/undrain", "/elvis/enable")] == [
        undo_paths[s] for s in undone if s in undo_paths
    ]
    assert endpoint_mode(w.db, "elvis") == (
        "active" if "freeze" in undone else "read-only" if states.get("freeze") else "active"
    )
