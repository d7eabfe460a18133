"""The reconciler and the decision form under Prefect's test harness, on a real ledger."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from ledgers import upgraded

from models.ledger import Ledger, upgrade_ledger
from models.milestone import MilestoneState
from models.settings import get_settings
from tasks.rollout_source import load_rollout

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
AS_OF = date(2026, 3, 1)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prefect_harness: None) -> dict[str, str]:
    """Settings pointing at the test plan, a live rollout and a fresh SQLite ledger; the test
    actions registered."""
    import flows.wiring
    from tests.reconciler_actions import REGISTRY

    values = {
        "SAMSA_DECOM_PLAN_PATH": str(DATA / "reconciler-plan.yaml"),
        "SAMSA_DECOM_ROLLOUT_SOURCE": str(DATA / "rollout-live.yaml"),
        "SAMSA_DECOM_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "SAMSA_DECOM_APPROVAL_POLL_SECONDS": "1",
        "SAMSA_TEST_ACTION_LOG": str(tmp_path / "actions.log"),
        "SAMSA_TEST_CRASH_MARKER": str(tmp_path / "crashed"),
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    for name, target in REGISTRY.items():
        monkeypatch.setitem(flows.wiring.ACTIONS, name, target)
    Path(values["SAMSA_TEST_CRASH_MARKER"]).write_text("no crash in this test\n")
    get_settings.cache_clear()
    upgrade_ledger(values["SAMSA_DECOM_LEDGER_URL"])  # as `samsa-decom up` does
    return values


_MINUTES = itertools.count()


def on_day(day: date) -> time_machine.travel:
    """The clock on ``day`` in Stockholm, a minute later than the previous call's (so what a
    test does on that day keeps its order in the ledger), ticking."""
    at = datetime.combine(day, dt_time(12), tzinfo=ZoneInfo("Europe/Stockholm"))
    return time_machine.travel(at + timedelta(minutes=next(_MINUTES)), tick=True)


def reconcile_on(day: date, **params: Any) -> Any:
    """A real reconciler run on ``day``: a real run takes no ``as_of``, so the clock is moved
    instead."""
    from flows.phaseout import reconcile_phaseout

    with on_day(day):
        return reconcile_phaseout(**params)


def ledger() -> Ledger:
    return upgraded(get_settings().resolved_ledger_url())


def snapshot(lg: Ledger) -> dict[str, tuple[str, Any]]:
    return {k: (r.state.value, r.due) for k, r in sorted(lg.states().items())}


def actions_called(env: dict[str, str]) -> list[str]:
    p = Path(env["SAMSA_TEST_ACTION_LOG"])
    return p.read_text().split() if p.exists() else []


@pytest.fixture(params=["sqlite", "postgresql"])
def any_ledger(request: pytest.FixtureRequest, env: dict[str, str],
               monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's ledger on SQLite (from ``env``) or on a fresh PostgreSQL database."""
    if request.param == "postgresql":
        monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", request.getfixturevalue("pg_url"))
        get_settings.cache_clear()
        upgrade_ledger(get_settings().resolved_ledger_url())
    return request.param


def test_second_run_changes_nothing(env: dict[str, str], any_ledger: str) -> None:
    first = reconcile_on(AS_OF)
    lg = ledger()
    states = snapshot(lg)
    assert states["a-forbered"][0] == "done" and states["b-exportera"][0] == "done"
    assert states["c-radera"][0] == "awaiting_approval"  # irreversible: waits for a person
    assert states["d-informera"][0] == "awaiting_approval"  # manual: waits for a person
    assert states["f-senare"][0] == "pending"
    assert "a-forbered" in first["done"]
    audit_before = lg.verify_audit().entries
    calls_before = actions_called(env)

    second = reconcile_on(AS_OF)
    assert second["changes"] == [] and second["started"] == []
    assert snapshot(lg) == states
    assert lg.verify_audit().entries == audit_before  # not one ledger entry more
    assert actions_called(env) == calls_before  # no action ran again


def test_one_run_opens_the_ledger_once_and_migrates_nothing(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema changes only at `up`, `deploy` and `upgrade-ledger`: a reconciler run opens
    its ledger once, closes it, and never runs a migration (instrumented, not replaced)."""
    from alembic import command

    opened: list[str] = []
    closed: list[str] = []
    migrations: list[object] = []
    real_open, real_close, real_upgrade = Ledger.open.__func__, Ledger.close, command.upgrade

    def counting_open(cls: type[Ledger], url: str, **kw: bool) -> Ledger:
        opened.append(url)
        return real_open(cls, url, **kw)

    def counting_close(self: Ledger) -> None:
        closed.append(self.url)
        real_close(self)

    def counting_upgrade(*args: object, **kw: object) -> None:
        migrations.append(args)
        real_upgrade(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "open", classmethod(counting_open))
    monkeypatch.setattr(Ledger, "close", counting_close)
    monkeypatch.setattr(command, "upgrade", counting_upgrade)
    report = reconcile_on(AS_OF)
    assert "a-forbered" in report["done"]  # the run did its work
    assert opened == [env["SAMSA_DECOM_LEDGER_URL"]]
    assert closed == opened
    assert migrations == []


def test_a_run_on_a_ledger_not_upgraded_names_the_command(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", f"sqlite:///{tmp_path / 'never.sqlite'}")
    get_settings.cache_clear()
    state = reconcile_on(AS_OF, return_state=True)
    assert state.is_failed()
    assert "run 'samsa-decom upgrade-ledger'" in str(state.message)


def test_status_artifact_has_table_and_timeline(env: dict[str, str]) -> None:
    from prefect.client.orchestration import get_client

    reconcile_on(AS_OF)
    with get_client(sync_client=True) as client:
        art = client.read_latest_artifacts(limit=50)
    latest = next(a for a in art if a.key == "phaseout-status")
    md = latest.data
    assert "data:image/svg+xml;base64," in md
    assert "| `c-radera` | Radera SAMSA-databasen ⚠ oåterkallelig" in md
    assert "väntar på beslut" in md and "2026-03-01" in md


def test_killed_run_resumes_to_the_same_end(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL

    # the reference: an uninterrupted run on its own ledger
    reconcile_on(AS_OF)
    reference = snapshot(ledger())

    # a run in another process that dies (os._exit) inside b-exportera's action
    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", f"sqlite:///{tmp_path / 'killed.sqlite'}")
    upgrade_ledger(f"sqlite:///{tmp_path / 'killed.sqlite'}")
    Path(env["SAMSA_TEST_CRASH_MARKER"]).unlink()
    Path(env["SAMSA_TEST_ACTION_LOG"]).unlink()
    get_settings.cache_clear()
    code = (
        "import flows.wiring as w, tests.reconciler_actions as t\n"
        "w.ACTIONS.update(t.REGISTRY)\n"
        "import time_machine\n"
        "time_machine.travel('2026-03-01T12:00:00+01:00', tick=True).start()\n"
        "from flows.phaseout import reconcile_phaseout\n"
        "reconcile_phaseout()\n"
    )
    child_env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()),
                     PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 9, proc.stderr[-2000:]
    half = snapshot(ledger())
    assert half["a-forbered"][0] == "done"
    assert half["b-exportera"][0] == "running"  # saved before its action started
    assert "c-radera" not in half or half["c-radera"][0] != "done"

    reconcile_on(AS_OF)  # the next run, in this process
    assert snapshot(ledger()) == reference
    calls = actions_called(env)
    assert calls.count("a-forbered") == 1  # done work is not redone
    assert calls.count("b-exportera") == 2  # the interrupted action is called again
    assert ledger().verify_audit().ok


def test_rehearsal_writes_nothing(env: dict[str, str]) -> None:
    from flows.phaseout import reconcile_phaseout

    report = reconcile_phaseout(as_of=date(2026, 10, 1), rehearse=True)
    assert "a-forbered" in report["started"]
    assert any(c.startswith("c-radera: awaiting_approval") for c in report["changes"])
    lg = ledger()
    assert lg.states() == {} and lg.verify_audit().entries == 0
    assert actions_called(env) == []  # no action ran


def _wait_paused(flow_name: str, timeout: float = 60) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
            paused = [r for r in runs if r.state and r.state.is_paused()]
            if paused:
                return paused[0]
            time.sleep(0.3)
    raise AssertionError("the confirm-milestone run never paused")


def _confirm_in_thread(milestone_id: str) -> tuple[threading.Thread, dict[str, Any]]:
    from flows.phaseout import confirm_milestone

    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = confirm_milestone(milestone_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            box["error"] = exc

    th = threading.Thread(target=target, daemon=True)
    th.start()
    return th, box


def _stored_run_input(flow_run_id: Any) -> list[str]:
    """The values Prefect's server stored as this run's input (table ``flow_run_input``)."""
    import sqlite3

    from prefect_scan import Since

    con = sqlite3.connect(Since().database())
    rows = con.execute("select value from flow_run_input where flow_run_id = ?",
                       (str(flow_run_id),)).fetchall()  # fmt: skip
    con.close()
    return [r[0] for r in rows]


def test_approval_through_the_pause_form_is_recorded_with_its_approver(
    env: dict[str, str], approver_inbox: Any,
) -> None:
    from prefect.flow_runs import resume_flow_run
    from prefect_scan import Since

    since = Since()
    reconcile_on(AS_OF)
    assert ledger().states()["c-radera"].state is MilestoneState.awaiting_approval

    th, box = _confirm_in_thread("c-radera")
    run = _wait_paused("confirm-milestone")
    # the server checks the form's schema before it stores the input: a personnummer in the
    # comment (or as the name) is refused, as the UI's Resume button is, and nothing is kept
    for refused in ({"approver": "Anna Andersson", "approved": True,
                     "comment": "Arkivet är verifierat. 19121212-1212"},
                    {"approver": "191212121212", "approved": True}):  # fmt: skip
        with pytest.raises(RuntimeError, match="Cannot resume this run"):
            resume_flow_run(run.id, run_input=refused)
    assert [v for v in _stored_run_input(run.id) if "1212" in v] == []
    # the reconciler sent a code to the approver's own channel when the step began to wait
    # (on AS_OF, months ago: expired by now); a new one is asked for, as `approve` does
    sent_by_reconciler = approver_inbox.code()
    from models.plan import load_plan
    from tasks.phaseout.decide import send_milestone_code

    assert send_milestone_code(ledger(), load_plan(DATA / "reconciler-plan.yaml"), "c-radera")
    code = approver_inbox.code()
    assert code != sent_by_reconciler
    assert not any(code in json.dumps(p) for _, p in approver_inbox.everyone.posts)
    resume_flow_run(run.id, run_input={"approver": "Anna Andersson", "approved": True,
                                       "code": code, "comment": "Arkivet är verifierat."})
    th.join(60)
    assert "error" not in box, box.get("error")
    lg = ledger()
    approval = lg.latest_approval("milestone:c-radera")
    assert approval is not None and approval.approver == "Anna Andersson"
    assert approval.approved and approval.kind == "approval"
    assert approval.comment == "Arkivet är verifierat."
    # the answer Prefect stored held the code as typed: the flow deleted it once read
    assert [v for v in _stored_run_input(run.id) if code in v] == []
    (entry,) = [e for e in lg.audit_entries() if e.seq == approval.audit_seq]
    assert entry.details["code_channel"] == "godkannare"
    # nothing Prefect stored since (rows of every table: logs, parameters, states, inputs,
    # artifacts, events; and files) holds either code, in any spelling; the database files
    # themselves are left out (a deleted row's old page may linger in SQLite's WAL)
    forms = [c.encode() for x in (code, sent_by_reconciler)
             for c in (x, x.replace("-", ""), x.lower())]
    stored = since.stored()
    assert "db:flow_run_input" in stored and "db:log" in stored
    assert [k for k, v in stored.items() if ".db" not in k and any(c in v for c in forms)] == []
    assert approval.flow_run_id == str(run.id)
    # an approved irreversible step still waits: the reconciler runs it after the gate check
    assert lg.states()["c-radera"].state is MilestoneState.awaiting_approval

    report = reconcile_on(AS_OF)
    assert "c-radera" in report["done"]
    hist = lg.history("c-radera")
    assert any("Anna Andersson" in h.reason for h in hist)
    # the audit names the rollout data the irreversible step relied on
    (basis,) = [e.details for e in lg.audit_entries()
                if e.action == "milestone.irreversible.basis"]
    assert basis["gate_open"] is True and basis["as_of"] == str(AS_OF)
    assert basis["rollout_source"] == env["SAMSA_DECOM_ROLLOUT_SOURCE"]
    rollout = load_rollout(env["SAMSA_DECOM_ROLLOUT_SOURCE"])
    assert basis["rollout_sha256"] == rollout.digest()


def test_manual_step_confirmed_done_through_the_form(env: dict[str, str]) -> None:
    from prefect.flow_runs import resume_flow_run

    reconcile_on(AS_OF)
    th, box = _confirm_in_thread("d-informera")
    run = _wait_paused("confirm-milestone")
    resume_flow_run(run.id, run_input={"approver": "Cecilia Ek", "approved": True})
    th.join(60)
    assert "error" not in box, box.get("error")
    lg = ledger()
    rec = lg.states()["d-informera"]
    assert rec.state is MilestoneState.done and "Cecilia Ek" in rec.detail
    assert lg.latest_approval("milestone:d-informera").kind == "confirmation"
    assert lg.history("d-informera")[-1].actor == "Cecilia Ek"


def test_irreversible_never_runs_with_a_closed_gate_even_with_an_approval(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tasks.ledger_view import record_decision

    reconcile_on(AS_OF)
    lg = ledger()
    with on_day(AS_OF):
        record_decision(lg, milestone_id="c-radera", kind="approval",
                        approver="Anna Andersson", approved=True, comment="", manual=False,
                        gate_open=True, flow_run_id=None)
    # the successor is paused again before the next morning
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(DATA / "rollout-paused.yaml"))
    get_settings.cache_clear()
    report = reconcile_on(AS_OF)
    assert "c-radera" not in report["started"]
    rec = lg.states()["c-radera"]
    assert rec.state is MilestoneState.blocked and "pausad" in rec.detail
    assert "c-radera" not in actions_called(env)

    # the gate opens again: the old approval no longer counts, a new decision is needed
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(DATA / "rollout-live.yaml"))
    get_settings.cache_clear()
    report = reconcile_on(AS_OF)
    assert "c-radera" not in report["started"]
    assert lg.states()["c-radera"].state is MilestoneState.awaiting_approval


def test_a_failed_action_fails_the_run_after_the_others(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import flows.wiring
    from tests.reconciler_actions import fail

    monkeypatch.setitem(flows.wiring.ACTIONS, "test-ok", fail)
    state = reconcile_on(AS_OF, return_state=True)
    assert state.is_failed()
    assert "källdatabasen svarar inte" in state.message
    lg = ledger()
    assert lg.states()["a-forbered"].state is MilestoneState.failed
    # the others were still processed, each with its own failure
    assert lg.states()["e-statistik@2026-03"].state is MilestoneState.failed


def test_under_a_deployment_each_waiting_milestone_gets_one_decision_run(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.states import Cancelled

    from flows.phaseout import confirm_milestone

    confirm_milestone.to_deployment(name="samsa").apply()
    # act as a run of the reconciler's deployment (Prefect's own runtime override)
    monkeypatch.setenv("PREFECT__RUNTIME__DEPLOYMENT__ID", str(uuid.uuid4()))
    first = reconcile_on(AS_OF)
    assert sorted(first["requested"]) == ["c-radera", "d-informera"]
    lg = ledger()
    request_id = lg.states()["c-radera"].flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(any_=["bekräfta-c-radera"])))
    assert [str(r.id) for r in runs] == [request_id]
    assert runs[0].parameters == {"milestone_id": "c-radera"}
    assert runs[0].parent_task_run_id is None  # its own run: it may suspend while it waits

    second = reconcile_on(AS_OF)  # the request is still open: no second one
    assert second["requested"] == [] and second["changes"] == []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(any_=["bekräfta-c-radera", "bekräfta-d-informera"])))
        assert len(runs) == 2
        for run in runs:  # answered elsewhere: the questions are closed for the next tests
            client.set_flow_run_state(run.id, Cancelled(), force=True)


def test_confirm_on_a_milestone_that_waits_for_nothing_does_not_pause(
    env: dict[str, str],
) -> None:
    from flows.phaseout import confirm_milestone

    reconcile_on(AS_OF)
    answer = confirm_milestone("a-forbered")  # done: returns at once, no form
    assert "is done: no decision is awaited" in answer
    assert ledger().approvals("milestone:a-forbered") == []


def test_the_real_plan_today_and_rehearsed_with_a_resumed_rollout(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.phaseout import reconcile_phaseout
    from models.plan import load_plan

    plan_dir = ROOT / "deploy" / "plan"
    monkeypatch.setenv("SAMSA_DECOM_PLAN_PATH", str(plan_dir / "samsa-phaseout.yaml"))
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(plan_dir / "rollout.yaml"))
    get_settings.cache_clear()
    plan = load_plan(plan_dir / "samsa-phaseout.yaml")
    irreversible = {m.id for m in plan.milestones if m.irreversible}
    assert irreversible

    report = reconcile_on(date(2026, 11, 27))
    states = ledger().states()
    assert {m.id for m in plan.milestones if not m.recurring} <= set(states)
    assert not any(states[i].state is MilestoneState.done for i in irreversible)
    assert report["failed"] == []

    # rehearse a day after a resumed rollout: what would happen, with nothing written
    before = ledger().verify_audit().entries
    rehearsal = reconcile_phaseout(
        as_of=date(2028, 6, 1), rehearse=True,
        rollout_source=str(plan_dir / "rollout-resumed.yaml"))
    assert rehearsal["changes"]
    assert ledger().verify_audit().entries == before


@pytest.mark.e2e
def test_served_decision_run_suspends_and_records_the_answer_after_resume(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As in production: the reconciler asks through the served `confirm-milestone`
    deployment; the run suspends (no process waits), and after Resume with the form's input
    it runs again from the top and records the answer once."""
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL

    # the served runs execute in fresh processes where the test actions are not registered,
    # so the manual step d-informera is the one answered here
    code = (
        "from flows.phaseout import confirm_milestone\n"
        "confirm_milestone.serve(name='samsa', print_starting_message=False)\n"
    )
    child_env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()),
                     PYTHONPATH=str(ROOT), PREFECT_RUNNER_POLL_FREQUENCY="1")
    server = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=child_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def state_of(run_id: str) -> Any:
        with get_client(sync_client=True) as client:
            return client.read_flow_run(uuid.UUID(run_id)).state

    try:
        deadline = time.monotonic() + 90
        with get_client(sync_client=True) as client:
            while True:  # until the served deployment is registered
                try:
                    client.read_deployment_by_name("confirm-milestone/samsa")
                    break
                except Exception:
                    assert server.poll() is None, server.stderr.read()[-2000:]
                    assert time.monotonic() < deadline, "deployment never appeared"
                    time.sleep(0.5)
        # the reconciler, acting as a run of its own deployment, asks for the decisions
        monkeypatch.setenv("PREFECT__RUNTIME__DEPLOYMENT__ID", str(uuid.uuid4()))
        report = reconcile_on(AS_OF)
        assert sorted(report["requested"]) == ["c-radera", "d-informera"]
        run_id = ledger().states()["d-informera"].flow_run_id
        assert run_id

        deadline = time.monotonic() + 120
        while not ((st := state_of(run_id)) and st.is_paused()):
            assert server.poll() is None, server.stderr.read()[-2000:]
            assert time.monotonic() < deadline, f"never suspended: {st}"
            time.sleep(0.5)
        assert st.name == "Suspended"
        resume_flow_run(uuid.UUID(run_id), run_input={
            "approver": "Dan Dahl", "approved": True, "comment": "Utskicket gjort"})
        deadline = time.monotonic() + 120
        while not (st := state_of(run_id)).is_final():
            assert time.monotonic() < deadline, f"never finished: {st}"
            time.sleep(0.5)
        assert st.is_completed(), st
    finally:
        server.terminate()
        server.wait(30)
    lg = ledger()
    answer = lg.latest_approval("milestone:d-informera")
    assert answer is not None and answer.approver == "Dan Dahl" and answer.approved
    assert answer.flow_run_id == run_id and answer.kind == "confirmation"
    rec = lg.states()["d-informera"]
    assert rec.state is MilestoneState.done and "Dan Dahl" in rec.detail
    assert len(lg.approvals("milestone:d-informera")) == 1  # recorded once, not per rerun


def test_runs_are_named_by_the_day_they_act_as(env: dict[str, str]) -> None:
    from flows.phaseout import reconcile_phaseout

    state = reconcile_phaseout(as_of=AS_OF, rehearse=True, return_state=True)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.name == "repetition-2026-03-01"


def test_the_daily_run_deletes_identities_of_requests_answered_long_ago(
    env: dict[str, str], tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    import time_machine
    from extract_cases import released

    from models.identity import make_personnummer, parse_identity
    from tasks.extracts.requests import get_request, register_request

    lg = ledger()
    old = register_request(lg, parse_identity(make_personnummer(date(1961, 5, 2), 991)),
                           received_on=date(2024, 1, 2))  # fmt: skip
    with time_machine.travel(datetime(2024, 1, 20, 12, 0, tzinfo=UTC), tick=False):
        released(lg, old.request_id, tmp_path)
    recent = register_request(lg, parse_identity(make_personnummer(date(1970, 1, 2), 982)))
    released(lg, recent.request_id, tmp_path)

    reconcile_on(AS_OF)
    assert get_request(lg, old.request_id).identity == ""
    assert get_request(lg, recent.request_id).identity != ""


@pytest.mark.parametrize(
    "override",
    [{"as_of": date(2099, 1, 1)}, {"plan_path": str(DATA / "reconciler-plan.yaml")},
     {"rollout_source": str(DATA / "rollout-live.yaml")}],
    ids=["as_of", "plan_path", "rollout_source"],
)
def test_a_real_run_refuses_overrides_a_rehearsal_takes_them(
    env: dict[str, str], override: dict[str, Any]
) -> None:
    from flows.phaseout import reconcile_phaseout
    from models.errors import InputError

    with pytest.raises(InputError, match=f"a real run takes no {next(iter(override))}"):
        reconcile_phaseout(**override)
    assert ledger().states() == {}  # nothing was decided or written
    assert actions_called(env) == []
    assert reconcile_phaseout(rehearse=True, **override)["rehearse"] is True


def test_two_reconcilers_at_once_act_once(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    """On PostgreSQL: while one run holds the reconciler's lease, another does nothing; two
    runs started together carry out each action once."""
    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", pg_url)
    get_settings.cache_clear()
    lg = upgraded(pg_url)
    with lg.held("reconcile-phaseout") as mine:
        assert mine
        report = reconcile_on(AS_OF)
    assert report["skipped"] is True and report["changes"] == []
    assert lg.states() == {} and actions_called(env) == []

    reports: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: reports.append(reconcile_on(AS_OF)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert len(reports) == 2
    assert actions_called(env).count("a-forbered") == 1
    assert lg.states()["a-forbered"].state is MilestoneState.done
