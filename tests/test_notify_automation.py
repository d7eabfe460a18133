"""The 'a flow run waits for a person' automation, against real Prefect APIs.

1. Under the test harness: created with the right trigger and action, idempotent, and it
   fires: a flow run that pauses brings the webhook (the harness runs the triggers).
2. End to end (marked ``e2e``): a real ``prefect server start`` subprocess, a flow run that
   pauses, and the automation's webhook arriving at a loopback HTTP server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from notify_receivers import HttpReceiver, free_port

from models.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def removes_automation() -> Iterator[None]:
    """Leave the shared harness as found: other areas' paused runs must not trigger it."""
    yield
    from prefect.automations import Automation

    from deploy.automations import AUTOMATION_NAME

    try:
        Automation.read(name=AUTOMATION_NAME).delete()
    except ValueError:
        pass


@pytest.mark.prefect
def test_pause_automation_is_created_once_with_the_right_trigger(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch, removes_automation: None
) -> None:
    from prefect.automations import Automation
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from deploy.automations import AUTOMATION_NAME, BLOCK_NAME, ensure_pause_automation

    monkeypatch.setenv("SAMSA_DECOM_UI_URL", "http://prefect.example:4200")
    first = ensure_pause_automation("http://127.0.0.1:9/hook")
    second = ensure_pause_automation("http://127.0.0.1:9/other-hook")
    assert first.id == second.id
    found = Automation.read(name=AUTOMATION_NAME)
    assert found.id == first.id and found.enabled
    trigger = found.trigger
    assert trigger.expect == {"prefect.flow-run.Paused", "prefect.flow-run.Suspended"}
    assert trigger.match.model_dump() == {"prefect.resource.id": "prefect.flow-run.*"}
    assert trigger.posture == "Reactive" and trigger.threshold == 1
    (action,) = found.actions
    assert action.type == "send-notification"
    assert "http://prefect.example:4200/runs/flow-run/{{ flow_run.id }}" in action.body
    assert action.subject.startswith("Väntar på ett beslut")
    block = CustomWebhookNotificationBlock.load(BLOCK_NAME)
    assert block.url == "http://127.0.0.1:9/other-hook"  # updated in place
    assert action.block_document_id == block._block_document_id


@pytest.mark.prefect
def test_the_automation_fires_when_a_flow_run_pauses_under_the_harness(
    prefect_harness: None, removes_automation: None
) -> None:
    """Found: the test harness runs Prefect's trigger and action services, so a pause
    reaches the webhook within seconds here too (no separate server needed)."""
    import threading

    from prefect import flow, pause_flow_run
    from prefect.flow_runs import resume_flow_run

    from deploy.automations import ensure_pause_automation

    hook = HttpReceiver().start()
    outcome: list[str] = []

    @flow(name="waits-for-approval")
    def waits() -> str:
        pause_flow_run(timeout=90)
        return "resumed"

    def run() -> None:
        try:
            outcome.append(waits())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome.append(type(exc).__name__)

    try:
        ensure_pause_automation(hook.url("/hook").replace("json://", "http://"))
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not hook.at("/hook"):
            time.sleep(0.3)
        (post,) = hook.at("/hook")
        assert post["subject"].startswith("Väntar på ett beslut: waits-for-approval (")
        run_id = post["body"].rsplit("/runs/flow-run/", 1)[1]
        resume_flow_run(run_id)  # a person resumes it; the flow then finishes
        worker.join(timeout=60)
        assert outcome == ["resumed"]
    finally:
        hook.stop()


def test_pause_automation_needs_a_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    from deploy.automations import ensure_pause_automation, ensure_pause_block

    monkeypatch.delenv("SAMSA_DECOM_NOTIFY_PAUSE_WEBHOOK_URL", raising=False)
    with pytest.raises(InputError, match="SAMSA_DECOM_NOTIFY_PAUSE_WEBHOOK_URL"):
        ensure_pause_automation()
    with pytest.raises(InputError, match="must be an http"):
        ensure_pause_block("mailto://x@example.org")


PAUSING_RUN = textwrap.dedent(
    """
    import sys
    from prefect import flow, pause_flow_run
    from deploy.automations import ensure_pause_automation

    ensure_pause_automation(sys.argv[1])

    @flow(name="waits-for-a-person")
    def waits() -> None:
        pause_flow_run(timeout=int(sys.argv[2]))

    try:
        waits()
    except Exception as exc:  # the pause times out: expected
        print("ended:", type(exc).__name__)
    """
)


@pytest.mark.e2e
def test_a_paused_flow_run_reaches_the_webhook_under_a_real_server(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "SAMSA_DECOM_HOME": str(tmp_path / "samsa"),
        "PYTHONPATH": str(ROOT),
    }
    hook = HttpReceiver().start()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("prefect server did not start in 120 s")
        run = subprocess.Popen(
            [
                sys.executable,
                "-c",
                PAUSING_RUN,
                hook.url("/hook").replace("json://", "http://"),
                "60",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        waited = time.monotonic() + 60
        while time.monotonic() < waited and not hook.at("/hook"):
            time.sleep(0.5)
        run.kill()
        output = run.communicate()[0]
        posts = hook.at("/hook")
        assert posts, f"no webhook within 60 s of the pause; flow output:\n{output[-2000:]}"
        subject = posts[0]["subject"]
        assert subject.startswith("Väntar på ett beslut: waits-for-a-person (")
        assert subject.endswith(")") and "{{" not in subject  # the run's name filled in
        assert "/runs/flow-run/" in posts[0]["body"]
        assert posts[0]["text"].startswith("Väntar på ett beslut")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        hook.stop()
