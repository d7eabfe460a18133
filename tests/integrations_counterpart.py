"""Test helpers for the integration shutdown: a real HTTP counterpart on loopback, a SAMSA-like
database and a catalogue pointing at both.

The counterpart records every call, answers ``GET /<name>/status`` with the last action
posted for that integration, fails a path on demand (``fail[path] = status``) and can kill
the calling process right after it acted (``kill_after[path] = pid``), like a crash in the
middle of a step whose effect already happened.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ledgers import upgraded
from sqlalchemy import create_engine, text

from models.integrations import Catalogue, Integration, Step, load_integrations
from models.ledger import Ledger
from models.ledger.integrations import IntegrationLedger, StepState
from tasks.integrations.engine import ShutdownEngine
from tasks.integrations.gates import PlanGates
from tasks.integrations.hooks import Decision, PlainHooks


class Counterpart:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.authorization: dict[str, str | None] = {}  # path -> Authorization header seen
        self.fail: dict[str, int] = {}
        self.fail_text: str = "failing on demand"
        self.delay: dict[str, float] = {}
        self.kill_after: dict[str, int] = {}
        self.state: dict[str, str] = {}
        self.last_message_at: str | None = None
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with owner._lock:
                    owner.calls.append((self.command, self.path))
                    owner.authorization[self.path] = self.headers.get("Authorization")
                    status = owner.fail.get(self.path)
                if self.path in owner.delay:
                    time.sleep(owner.delay[self.path])
                if status:
                    self._answer(status, {"error": owner.fail_text})
                    return
                parts = self.path.strip("/").split("/")
                if self.command == "GET" and parts[-1] == "status":
                    self._answer(
                        200,
                        {
                            "state": owner.state.get(parts[0], "active"),
                            "last_message_at": owner.last_message_at,
                        },
                    )
                    return
                if self.command == "POST" and len(parts) == 2:
                    owner.state[parts[0]] = parts[1]
                pid = owner.kill_after.get(self.path)
                if pid:
                    os.kill(pid, signal.SIGKILL)
                    return
                self._answer(200, {"ok": True, "path": self.path})

            do_GET = _handle
            do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Counterpart:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self, method: str, path: str) -> int:
        return sum(1 for c in self.calls if c == (method, path))

    def posts(self) -> list[str]:
        return [p for m, p in self.calls if m == "POST"]


def make_samsa_db(url: str, last_message: str = "2026-11-01 08:00:00") -> None:
    """A SAMSA-like database: the endpoint table the sql steps change, and messages."""
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(
            text(
                "CREATE TABLE integration_endpoint (name VARCHAR(50) PRIMARY KEY, "
                "mode VARCHAR(20) NOT NULL)"
            )
        )
        c.execute(
            text(
                "INSERT INTO integration_endpoint VALUES ('elvis', 'active'), ('utdata', 'active')"
            )
        )
        c.execute(
            text(
                "CREATE TABLE message (id INTEGER PRIMARY KEY, receiver VARCHAR(50), "
                "sent_at TIMESTAMP NOT NULL)"
            )
        )
        c.execute(
            text("INSERT INTO message VALUES (1, 'elvis', :a), (2, 'utdata', :a)"),
            {"a": last_message},
        )
    engine.dispose()


def endpoint_mode(url: str, name: str) -> str:
    engine = create_engine(url)
    with engine.connect() as c:
        mode = c.execute(
            text("SELECT mode FROM integration_endpoint WHERE name = :n"), {"n": name}
        ).scalar_one()
    engine.dispose()
    return str(mode)


def catalogue_yaml(base: str, *, gate: str | None = None, extra_step: str = "") -> str:
    """Two integrations: ``elvis`` (full path) and ``utdata`` (shut down after elvis)."""
    gate_line = f"    gate: {gate}\n" if gate else ""
    return f"""\
variables:
  counterpart: {base}
integrations:
  - name: elvis
    title: Elvis (VGR:s journalsystem)
    counterpart: VGR Elvis-förvaltningen
    direction: both
    protocol: HTTPS/XML
    depended_on_by: [slutenvården i VGR]
{gate_line}    point_of_no_return: revoke
    steps:
      - id: announce
        phase: announce
        kind: http
        url: ${{counterpart}}/elvis/announce
        idempotent: true
      - id: freeze
        phase: freeze
        kind: sql
        sql: UPDATE integration_endpoint SET mode = 'read-only' WHERE name = 'elvis'
        expect_rows: 1
        idempotent: true
        reversible: true
        undo:
          kind: sql
          sql: UPDATE integration_endpoint SET mode = 'active' WHERE name = 'elvis'
{extra_step}      - id: drain
        phase: drain
        kind: http
        url: ${{counterpart}}/elvis/drain
        idempotent: true
        reversible: true
        undo: {{kind: http, url: "${{counterpart}}/elvis/undrain"}}
      - id: silence
        phase: observe_silence
        kind: sql
        sql: SELECT max(sent_at) FROM message WHERE receiver = 'elvis'
        silent_days: 14
        idempotent: true
      - id: disable
        phase: disable
        kind: http
        url: ${{counterpart}}/elvis/disable
        reversible: true
        undo: {{kind: http, url: "${{counterpart}}/elvis/enable"}}
        check: {{kind: http, method: GET, url: "${{counterpart}}/elvis/status",
                 expect_body: '"disable"'}}
      - id: revoke
        phase: revoke
        kind: http
        url: ${{counterpart}}/elvis/revoke
        idempotent: true
      - id: confirm
        phase: confirm
        kind: http
        method: GET
        url: ${{counterpart}}/elvis/status
        expect_body: '"revoke"'
        idempotent: true
  - name: utdata
    title: Utdata SAMSA (statistik)
    counterpart: VGR Analys
    direction: outbound
    protocol: SQL
    shutdown_after: [elvis]
    point_of_no_return: revoke
    steps:
      - id: freeze
        phase: freeze
        kind: sql
        sql: UPDATE integration_endpoint SET mode = 'read-only' WHERE name = 'utdata'
        idempotent: true
        reversible: true
        undo:
          kind: sql
          sql: UPDATE integration_endpoint SET mode = 'active' WHERE name = 'utdata'
      - id: revoke
        phase: revoke
        kind: http
        url: ${{counterpart}}/utdata/revoke
        idempotent: true
"""


def write_catalogue(tmp: Path, base: str, **kw: object) -> Path:
    path = tmp / "integrations.yaml"
    path.write_text(catalogue_yaml(base, **kw), encoding="utf-8")  # type: ignore[arg-type]
    return path


AS_OF = date(2026, 12, 31)  # the last elvis message is 2026-11-01: silent long enough

PLAN = """\
gates:
  successor-live:
    description: Etapp 1 i drift
    stages: [etapp-1]
milestones:
  - id: integration-elvis-off
    title: Elvis avstängd
    owner: GITS
    workstream: integrations
    due: 2026-12-01
    gate: successor-live
    action: integration
    action_params: {integration: elvis}
"""


def rollout_yaml(status: str) -> str:
    extra = {
        "live": "    actual_go_live: 2026-10-01\n",
        "paused": "    actual_go_live: 2026-10-01\n    paused_on: 2026-12-02\n",
    }.get(status, "")
    return f"""\
title: Millennium
functions: {{inskrivning: Inskrivning}}
stages:
  - id: etapp-1
    name: Etapp 1
    areas: [south]
    functions: [inskrivning]
    planned_go_live: 2026-10-01
    status: {status}
{extra}"""


class FormHooks(PlainHooks):
    """Plain hooks whose approval form is answered by what a test prepared (once)."""

    answers: dict[str, Decision]

    def ask_approval(self, integ: Integration, step: Step, why: str) -> Decision | None:
        return self.answers.pop(integ.name, None)


@dataclass
class World:
    cp: Counterpart
    db: str
    ledger: Ledger
    catalogue: Catalogue
    rollout: Path
    plan: Path
    notices: list[tuple[str, str]]

    answers: dict[str, Decision] = field(default_factory=dict)

    def engine(self) -> ShutdownEngine:
        gates = PlanGates(self.plan, str(self.rollout))
        hooks = FormHooks(
            self.catalogue, self.db, gates, notify=lambda s, t: self.notices.append((s, t))
        )
        hooks.answers = self.answers
        return ShutdownEngine(self.catalogue, self.ledger, hooks, source_url=self.db)

    def approve(self, name: str = "elvis", yes: bool = True, who: str = "Anna Andersson") -> None:
        """A person decides on ``name``'s point of no return: for the wait in progress (as
        ``samsa-decom integrations approve``), or, when nothing waits yet, in the form the
        engine's next run shows when it gets there."""
        subject = f"integration:{name}:revoke"
        wait = self.ledger.wait_in_progress(subject)
        if wait is None:
            self.answers[name] = Decision(who, yes, "enligt beslut")
            return
        with self.ledger.unit_of_work() as s:
            self.ledger.record_approval(
                s,
                subject=subject,
                kind="approval",
                approver=who,
                approved=yes,
                comment="enligt beslut",
                wait=wait,
            )

    def states(self, name: str = "elvis") -> dict[str, StepState]:
        return {k: v.state for k, v in IntegrationLedger(self.ledger).steps(name).items()}

    def set_rollout(self, status: str) -> None:
        self.rollout.write_text(rollout_yaml(status), encoding="utf-8")


def make_world(
    tmp_path: Path, db_url: str, cp: Counterpart, *, status: str = "live", extra_step: str = "",
    approver_channel: str | None = None,
) -> World:
    """``approver_channel``: elvis's point of no return then needs the one-time code sent to
    that tag (tests/approver_inbox.py)."""
    make_samsa_db(db_url)
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    rollout = tmp_path / "rollout.yaml"
    rollout.write_text(rollout_yaml(status), encoding="utf-8")
    path = write_catalogue(tmp_path, cp.url, gate="successor-live", extra_step=extra_step)
    if approver_channel:
        path.write_text(path.read_text(encoding="utf-8").replace(
            "    point_of_no_return: revoke\n",
            f"    point_of_no_return: revoke\n    approver_channel: {approver_channel}\n", 1),
            encoding="utf-8")
    catalogue = load_integrations(path, gate_names=["successor-live"])
    return World(cp, db_url, upgraded(db_url), catalogue, rollout, plan, [])
