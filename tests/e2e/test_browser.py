"""The Prefect UI as a project manager sees it, in a real headless browser (Debian's chromium).

`samsa-decom up` runs as the README says (its own Prefect server on SQLite, every deployment
served) on a small plan whose manual step is due. The reconciler runs, a `confirm-milestone`
run waits for a decision, and in the browser we look at the deployments and their schedules,
open the `phaseout-status` artifact with its timeline, and approve the milestone through its
form. The ledger must then name the approver. Screenshots go to docs/screenshots/ (or
$SAMSA_DECOM_SCREENSHOTS).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from deploy.server import free_port
from tests.e2e.helpers import REPO, Api, Child, child_env, dated_copy, start_child
from tests.notify_receivers import HttpReceiver

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "data"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MILESTONE = "informera-kommunerna"
CODE_RE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")
APPROVER = "Karin Lindqvist"
SCREENSHOTS = Path(os.environ.get("SAMSA_DECOM_SCREENSHOTS", REPO / "docs" / "screenshots"))


@dataclass
class Running:
    up: Child
    url: str
    api: Api
    home: Path
    webhook_calls: list[dict[str, object]]


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A chat webhook on loopback (like Teams'/Slack's): records what it is sent."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def approver_channel() -> Iterator[HttpReceiver]:
    """The approver's own channel (tag ``godkannare``): where the one-time code arrives."""
    receiver = HttpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def samsa_up(
    tmp_path_factory: pytest.TempPathFactory, webhook: tuple[str, list[dict[str, object]]],
    approver_channel: HttpReceiver,
) -> Iterator[Running]:
    """`samsa-decom up` on a free port with the browser-test plan; stopped afterwards."""
    tmp = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = child_env(
        tmp / "client-home",
        SAMSA_DECOM_HOME=str(tmp / "samsa-home"),
        SAMSA_DECOM_PLAN_PATH=str(dated_copy(DATA / "phaseout-plan.yaml", tmp)),
        SAMSA_DECOM_ROLLOUT_SOURCE=str(dated_copy(DATA / "phaseout-rollout.yaml", tmp)),
        SAMSA_DECOM_APPROVAL_POLL_SECONDS="1",
        SAMSA_DECOM_UI_URL=f"http://127.0.0.1:{port}",
        SAMSA_DECOM_NOTIFY_PAUSE_WEBHOOK_URL=webhook[0],
        SAMSA_DECOM_APPRISE_URLS=json.dumps([f"godkannare={approver_channel.url('/kod')}"]),
        PREFECT_RUNNER_POLL_FREQUENCY="2",
    )
    up = start_child(
        "up",
        [sys.executable, "-m", "deploy.cli", "up", "--port", str(port), "--no-demo"],
        env,
        tmp / "logs",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        api = Api(f"{url}/api")
        deadline = time.monotonic() + 180
        while "samsa-decom is running" not in up.tail(200):
            assert up.process.poll() is None, f"samsa-decom up stopped:\n{up.tail()}"
            assert time.monotonic() < deadline, f"samsa-decom up did not start:\n{up.tail()}"
            time.sleep(0.5)
        api.wait_for_deployments(["reconcile-phaseout/samsa", "confirm-milestone/samsa"])
        yield Running(up, url, api, tmp / "samsa-home", webhook[1])
    finally:
        up.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (./run test does it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _wait_for_paused_confirmation(
    api: Api, timeout: float = 120, not_: str | None = None
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in api.flow_runs("confirm-milestone"):
            if (run.get("parameters") or {}).get("milestone_id") == MILESTONE and (
                run["state"] or {}
            ).get("type") == "PAUSED" and str(run["id"]) != not_:
                return run
        time.sleep(1)
    raise AssertionError(f"no paused confirm-milestone run for {MILESTONE}")


def _shot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / name
    partial = target.with_suffix(".tmp.png")
    page.screenshot(path=str(partial), full_page=True)  # type: ignore[attr-defined]
    shutil.move(partial, target)
    return target


def test_project_manager_follows_and_approves_in_the_ui(  # type: ignore[no-untyped-def]
    samsa_up: Running, browser, approver_channel: HttpReceiver
) -> None:
    from playwright.sync_api import expect

    api = samsa_up.api
    # `up` also set up the trigger: a rollout stage going live starts the reconciler
    automations = api.post("/automations/filter", {})
    trigger = [a for a in automations if a["name"] == "Rollout stage went live"]
    assert trigger and trigger[0]["trigger"]["expect"] == ["samsa.rollout.stage.live"]
    reconciler = api.deployment("reconcile-phaseout/samsa")
    assert trigger[0]["actions"][0]["deployment_id"] == reconciler["id"]

    reconcile = api.start_run("reconcile-phaseout/samsa", {})  # a real run acts on today
    api.wait_for_state(reconcile, {"COMPLETED"}, timeout=180)
    waiting = _wait_for_paused_confirmation(api)

    # notify's automation (set up by `up`) tells the chat the moment a decision waits
    deadline = time.monotonic() + 60
    while not samsa_up.webhook_calls and time.monotonic() < deadline:
        time.sleep(1)
    assert samsa_up.webhook_calls, "nobody was told that a decision waits"
    assert str(waiting["id"]) in json.dumps(samsa_up.webhook_calls[0])

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(30_000)

    # 1. the deployments with their schedules
    page.goto(f"{samsa_up.url}/deployments")
    table = page.locator("table, [role=table], main").first
    expect(page.get_by_text("reconcile-phaseout").first).to_be_visible()
    expect(page.get_by_text("sync-rollout").first).to_be_visible()
    expect(page.get_by_text("At 06:00 AM every day").first).to_be_visible()
    expect(page.get_by_text("Every hour").first).to_be_visible()
    assert table.is_visible()
    assert _shot(page, "deployments.png").stat().st_size > 10_000

    # 2. the phaseout-status artifact with its timeline picture
    (latest,) = api.post(
        "/artifacts/filter",
        {"artifacts": {"key": {"any_": ["phaseout-status"]}}, "sort": "CREATED_DESC", "limit": 1},
    )
    page.goto(f"{samsa_up.url}/artifacts/artifact/{latest['id']}")
    expect(page.get_by_text("Avveckling av SAMSA").first).to_be_visible()
    timeline = page.locator("img[src^='data:image/svg+xml']").first
    expect(timeline).to_be_visible()
    box = timeline.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 100
    expect(page.get_by_text(MILESTONE).first).to_be_visible()
    assert _shot(page, "phaseout-status.png").stat().st_size > 10_000

    # 3. the one-time code reached the approver's own channel when the milestone began to wait
    deadline = time.monotonic() + 60
    while not approver_channel.posts and time.monotonic() < deadline:
        time.sleep(0.5)
    (message,) = [p for _, p in approver_channel.posts]
    (code,) = CODE_RE.findall(str(message.get("message")))
    wrong = "ABCD-EFGH" if code != "ABCD-EFGH" else "HGFE-DCBA"

    def answer(run_id: str, with_code: str, shot: str | None = None) -> None:
        page.goto(f"{samsa_up.url}/runs/flow-run/{run_id}")
        page.get_by_role("button", name="Resume").first.click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Ditt namn (godkännare)")).to_be_visible()
        expect(dialog.get_by_text(re.compile(r"^Engångskod")).first).to_be_visible()
        fields = dialog.locator("textarea, input[type=text]")  # name, code, dnr, comment
        fields.nth(0).fill(APPROVER)
        dialog.get_by_role("switch").first.click()
        fields.nth(1).fill(with_code)
        fields.nth(3).fill("Informationen skickad till alla 49 kommuner.")
        if shot:
            assert _shot(page, shot).stat().st_size > 10_000
        dialog.get_by_role("button", name="Submit").click()
        # the dialog closes once the server took the answer; under load a click can land
        # before the form is ready, so it is pressed once more before the test gives up
        try:
            expect(dialog).to_be_hidden(timeout=30_000)
        except AssertionError:
            if dialog.count():
                dialog.get_by_role("button", name="Submit").click()
            expect(dialog).to_be_hidden(timeout=60_000)

    # a wrong code: refused in Swedish, nothing decided; the milestone still waits
    answer(str(waiting["id"]), wrong)
    refused = api.wait_for_state(str(waiting["id"]), {"FAILED", "COMPLETED"}, timeout=120)
    assert refused["state"]["type"] == "FAILED"
    assert "Fel engångskod" in refused["state"]["message"], refused["state"]
    page.goto(f"{samsa_up.url}/runs/flow-run/{waiting['id']}")
    expect(page.get_by_text("Fel engångskod").first).to_be_visible()

    # the next reconciler run asks again (the same code is still good), and it is accepted
    again = api.start_run("reconcile-phaseout/samsa", {})
    api.wait_for_state(again, {"COMPLETED"}, timeout=180)
    waiting = _wait_for_paused_confirmation(api, not_=str(waiting["id"]))
    answer(str(waiting["id"]), code.lower(), shot="approval-form.png")

    done = api.wait_for_state(str(waiting["id"]), {"COMPLETED"}, timeout=120)
    assert done["state"]["type"] == "COMPLETED"
    assert len(approver_channel.posts) == 1  # no second code was needed

    from models.ledger import Ledger
    from models.milestone import MilestoneState

    ledger = Ledger.open(f"sqlite:///{samsa_up.home / 'ledger.sqlite'}")
    try:
        approval = ledger.latest_approval(f"milestone:{MILESTONE}")
        assert approval is not None, "the decision did not reach the ledger"
        assert approval.approver == APPROVER
        assert approval.approved is True
        assert approval.comment == "Informationen skickad till alla 49 kommuner."
        assert ledger.states()[MILESTONE].state is MilestoneState.done
        assert ledger.verify_audit().ok
        (entry,) = [e for e in ledger.audit_entries() if e.seq == approval.audit_seq]
        assert entry.details["code_channel"] == "godkannare"
        refusals = [e for e in ledger.audit_entries() if e.action == "decision.code.refused"]
        assert [e.details["why"] for e in refusals] == ["fel kod"]
    finally:
        ledger.close()
    # the code typed into the form is kept nowhere: no table of Prefect's database or of the
    # ledger holds it, nor any log of the server, the runner or the flows. (SQLite's WAL may
    # keep the deleted form answer's old page until a checkpoint: docs/operations.md; the
    # code was used by then, and a used code opens nothing.)
    forms = [code, code.replace("-", ""), code.lower()]
    files = [f for f in samsa_up.home.parent.rglob("*") if f.is_file()]
    databases = [f for f in files if f.suffix in (".db", ".sqlite")]
    assert {f.name for f in databases} >= {"prefect.db", "ledger.sqlite"}, files
    found = []
    for db in databases:
        con = sqlite3.connect(db)
        try:
            tables = [r[0] for r in con.execute("select name from sqlite_master "
                                                "where type = 'table'")]
            for table in tables:
                for row in con.execute(f'select * from "{table}"'):  # noqa: S608 - test
                    if any(c in repr(row) for c in forms):
                        found.append(f"{db.name}:{table}")
        finally:
            con.close()
    found += [str(f) for f in files if ".db" not in f.name and ".sqlite" not in f.name
              and any(c.encode() in f.read_bytes() for c in forms)]
    assert found == []
