"""The flow ``shutdown-integrations`` under Prefect's test harness: the approval form (pause
and resume with input), a refusal, a closed gate, a rehearsal, the keyed artifact, and a run
killed mid-step (the CLI in a subprocess, killed by the counterpart) resumed without
repeating a step."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from integrations_counterpart import AS_OF, Counterpart, World, make_world

from models.ledger.integrations import IntegrationLedger, StepState

pytestmark = pytest.mark.prefect
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def counterpart():
    cp = Counterpart().start()
    yield cp
    cp.stop()


def settings_env(w: World, tmp_path: Path) -> dict[str, str]:
    return {
        "SAMSA_DECOM_SOURCE_URL": w.db,
        "SAMSA_DECOM_LEDGER_URL": w.db,
        "SAMSA_DECOM_INTEGRATIONS_PATH": str(tmp_path / "integrations.yaml"),
        "SAMSA_DECOM_PLAN_PATH": str(w.plan),
        "SAMSA_DECOM_ROLLOUT_SOURCE": str(w.rollout),
        "SAMSA_DECOM_APPROVAL_POLL_SECONDS": "1",
        "SAMSA_DECOM_INTEGRATION_APPROVAL_TIMEOUT_SECONDS": "120",
    }


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'samsa.sqlite'}"


@pytest.fixture
def flow_world(
    tmp_path: Path,
    sqlite_url: str,
    counterpart: Counterpart,
    monkeypatch: pytest.MonkeyPatch,
    prefect_harness: None,
) -> Iterator[World]:
    """SQLite under the flow (the engine tests cover PostgreSQL for every rule), on AS_OF:
    a real run takes no ``as_of``, so the clock is moved to that day instead."""
    from models.settings import get_settings

    w = make_world(tmp_path, sqlite_url, counterpart)
    for k, v in settings_env(w, tmp_path).items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    with on_as_of():
        yield w


def on_as_of() -> time_machine.travel:
    """The clock at noon of AS_OF in Stockholm, ticking (a real run acts on today)."""
    noon = datetime.combine(AS_OF, dt_time(12), tzinfo=ZoneInfo("Europe/Stockholm"))
    return time_machine.travel(noon, tick=True)


def run_in_thread(**params: Any) -> tuple[threading.Thread, dict[str, Any]]:
    from flows.integrations import shutdown_integrations

    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["result"] = shutdown_integrations(**params)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, out


def wait_for_paused(seconds: float = 90) -> Any:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + seconds
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for run in client.read_flow_runs(limit=50):
                if run.state is not None and run.state.is_paused():
                    return run
            time.sleep(0.5)
    raise AssertionError("no flow run paused for its form")


def artifact_markdown() -> str:
    from prefect.artifacts import Artifact

    art = Artifact.get("integrations-shutdown")
    assert art is not None
    return str(art.data)


def test_approval_through_the_pause_form_is_recorded_and_passes(flow_world: World) -> None:
    from prefect.flow_runs import resume_flow_run

    w = flow_world
    thread, out = run_in_thread(integration="elvis")
    run = wait_for_paused()
    assert w.cp.count("POST", "/elvis/disable") == 1
    assert w.cp.count("POST", "/elvis/revoke") == 0  # waits at the point of no return
    resume_flow_run(
        run.id,
        run_input={
            "approver": "Anna Andersson",
            "approved": True,
            "comment": "Beslut i styrgruppen 2026-12-30",
        },
    )
    thread.join(120)
    assert "error" not in out, out.get("error")
    assert out["result"][0]["status"] == "shut_down"
    assert w.cp.count("POST", "/elvis/revoke") == 1

    approval = w.ledger.latest_approval("integration:elvis:revoke")
    assert approval is not None and approval.approved
    assert approval.approver == "Anna Andersson"
    assert approval.flow_run_id == str(run.id)
    granted = [e for e in w.ledger.audit_entries() if e.action == "approval.granted"]
    assert [(e.actor, e.subject) for e in granted] == [
        ("Anna Andersson", "integration:elvis:revoke")
    ]
    assert w.ledger.verify_audit().ok
    md = artifact_markdown()
    assert "| elvis | shut_down |" in md and "point of no return" in md


def test_refusal_through_the_form_stops_before_the_point_of_no_return(flow_world: World) -> None:
    from prefect.flow_runs import resume_flow_run

    w = flow_world
    thread, out = run_in_thread(integration="elvis")
    run = wait_for_paused()
    resume_flow_run(
        run.id,
        run_input={"approver": "Bo Berg", "approved": False, "comment": "Etapp 4 har inte startat"},
    )
    thread.join(120)
    assert "error" not in out, out.get("error")
    assert out["result"][0]["status"] == "waiting"
    assert "refused by Bo Berg" in out["result"][0]["waiting_for"]
    assert w.cp.count("POST", "/elvis/revoke") == 0
    assert "revoke" not in IntegrationLedger(w.ledger).steps("elvis")
    assert "refused by Bo Berg" in artifact_markdown()


def test_closed_gate_completes_waiting_with_its_reasons(flow_world: World) -> None:
    from flows.integrations import shutdown_integrations

    w = flow_world
    w.set_rollout("planned")
    w.approve()
    state = shutdown_integrations(integration="elvis", return_state=True)
    assert state.is_completed()
    result = state.result()
    assert result[0]["status"] == "waiting"
    assert w.cp.calls == []
    md = artifact_markdown()
    assert "| elvis | waiting |" in md
    assert "Södra området: planerad 2026-10-01" in md


def test_rehearsal_flow_shows_what_would_happen_and_touches_nothing(flow_world: World) -> None:
    from flows.integrations import shutdown_integrations

    w = flow_world
    result = shutdown_integrations(rehearse=True, as_of=AS_OF)
    assert [r["integration"] for r in result] == ["elvis", "utdata"]
    assert w.cp.calls == []
    assert IntegrationLedger(w.ledger).steps("elvis") == {}
    md = artifact_markdown()
    assert "Rehearsal (nothing was touched)" in md
    assert f"would call POST {w.cp.url}/elvis/disable" in md


def test_killed_run_resumes_at_its_step_without_repeating_one(
    tmp_path: Path,
    db_url: str,
    counterpart: Counterpart,
    monkeypatch: pytest.MonkeyPatch,
    prefect_harness: None,
) -> None:
    from deploy.cli import main
    from flows.integrations import shutdown_integrations
    from models.settings import get_settings

    w = make_world(tmp_path, db_url, counterpart)  # SQLite and PostgreSQL
    for k, v in settings_env(w, tmp_path).items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    env = {**os.environ, **settings_env(w, tmp_path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [  # a real run takes no --as-of: the clock in the child is moved to AS_OF instead
            sys.executable,
            "-c",
            "import sys, time_machine\n"
            "from datetime import datetime\n"
            "from zoneinfo import ZoneInfo\n"
            "from deploy.cli import main\n"
            f"noon = datetime({AS_OF.year}, {AS_OF.month}, {AS_OF.day}, 12, "
            "tzinfo=ZoneInfo('Europe/Stockholm'))\n"
            "with time_machine.travel(noon, tick=True):\n"
            "    sys.exit(main(['integrations', 'shutdown', 'elvis']))\n",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    w.cp.kill_after["/elvis/disable"] = proc.pid  # the counterpart acts, then the run dies
    proc.communicate(timeout=120)
    assert proc.returncode == -9

    steps = IntegrationLedger(w.ledger).steps("elvis")
    assert {k: v.state for k, v in steps.items()} == {
        "announce": StepState.done,
        "freeze": StepState.done,
        "drain": StepState.done,
        "silence": StepState.done,
        "disable": StepState.running,
    }

    w.cp.kill_after.clear()
    # the next run finds disable done by its check and waits at the point of no return
    with on_as_of():
        assert main(["integrations", "shutdown", "elvis"]) == 0
    assert (
        main(
            [
                "integrations",
                "approve",
                "elvis",
                "--approver",
                "Anna Andersson",
                "--comment",
                "godkänt när det väntade",
            ]
        )
        == 0
    )
    with on_as_of():
        result = shutdown_integrations(integration="elvis")
    assert result[0]["status"] == "shut_down"

    for path in ("/elvis/announce", "/elvis/drain", "/elvis/disable", "/elvis/revoke"):
        assert w.cp.count("POST", path) == 1, (path, w.cp.calls)
    steps = IntegrationLedger(w.ledger).steps("elvis")
    assert steps["disable"].state is StepState.done
    assert steps["disable"].attempt == 1  # found done by its check, not run again
    assert "its check found it done" in steps["disable"].detail
    assert w.ledger.verify_audit().ok


def test_nobody_answering_the_form_leaves_the_integration_waiting(
    flow_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.integrations import shutdown_integrations
    from models.settings import get_settings

    w = flow_world
    monkeypatch.setenv("SAMSA_DECOM_INTEGRATION_APPROVAL_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    state = shutdown_integrations(integration="elvis", return_state=True)
    assert state.is_completed(), state
    result = state.result()
    assert result[0]["status"] == "waiting"
    assert "approval of integration:elvis:revoke" in result[0]["waiting_for"]
    assert w.cp.count("POST", "/elvis/revoke") == 0
    assert w.ledger.latest_approval("integration:elvis:revoke") is None


def test_manual_step_is_confirmed_through_its_form(
    tmp_path: Path,
    sqlite_url: str,
    counterpart: Counterpart,
    monkeypatch: pytest.MonkeyPatch,
    prefect_harness: None,
) -> None:
    from prefect.flow_runs import resume_flow_run

    from models.settings import get_settings

    extra = (
        "      - id: queue-checked\n        phase: drain\n        kind: manual\n"
        "        instructions: Kontrollera i Elvis att utkön är tom\n"
    )
    w = make_world(tmp_path, sqlite_url, counterpart, extra_step=extra)
    for k, v in settings_env(w, tmp_path).items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()

    thread, out = run_in_thread(integration="elvis")
    run = wait_for_paused()
    assert counterpart.posts() == ["/elvis/announce"]  # waits for the person, nothing more
    resume_flow_run(
        run.id, run_input={"confirmed_by": "Carl Ek", "done": True, "comment": "kön tom 08:10"}
    )
    run = wait_for_paused()  # then the approval of the point of no return
    resume_flow_run(run.id, run_input={"approver": "Anna Andersson", "approved": True})
    thread.join(120)
    assert "error" not in out, out.get("error")
    assert out["result"][0]["status"] == "shut_down"
    confirmation = w.ledger.latest_approval("integration:elvis:queue-checked")
    assert confirmation is not None and confirmation.kind == "confirmation"
    assert confirmation.approver == "Carl Ek"
    history = IntegrationLedger(w.ledger).history("elvis")
    done = [e for e in history if e.step_id == "queue-checked" and e.to_state is StepState.done]
    assert [e.actor for e in done] == ["Carl Ek"]


def test_a_waiting_decision_gets_one_form_run_of_the_deployment(prefect_harness: None) -> None:
    from prefect.client.orchestration import get_client

    from flows.integrations import request_decision_run, shutdown_integrations

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow(shutdown_integrations)
        client.create_deployment(flow_id=flow_id, name="samsa")
    first = request_decision_run("elvis")
    assert first is not None
    assert request_decision_run("elvis") is None  # one open run asks; no second one
    other = request_decision_run("utdata")
    assert other is not None and other != first
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(first)
        assert run.parameters == {"integration": "elvis"}
        for run_id in (first, other):
            client.delete_flow_run(run_id)
    assert request_decision_run("elvis", deployment="shutdown-integrations/nope") is None


def test_a_real_run_refuses_as_of_a_rehearsal_takes_it(flow_world: World) -> None:
    from flows.integrations import shutdown_integrations
    from models.errors import InputError

    with pytest.raises(InputError, match="a real run takes no as_of"):
        shutdown_integrations(integration="elvis", as_of=date(2099, 1, 1))
    assert flow_world.cp.calls == []
    assert shutdown_integrations(integration="elvis", rehearse=True, as_of=date(2099, 1, 1))
    assert flow_world.cp.calls == []
