"""Helpers for end-to-end tests: child processes in their own group, a small API client,
PostgreSQL databases made and dropped per test module."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from deploy.server import basic_auth_header

REPO = Path(__file__).resolve().parents[2]
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment for a child process using this checkout and its own Prefect home."""
    env = dict(os.environ)
    for key in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING"):
        env.pop(key, None)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
    )
    env.update(extra)
    return env


@dataclass
class Child:
    """A child process in its own process group, with its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_child(name: str, cmd: list[str], env: dict[str, str], logs: Path) -> Child:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    fh = log.open("ab")
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=REPO,
        stdout=fh,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    fh.close()
    return Child(name, proc, log)


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``samsa-decom <args>`` in a child process (this checkout's code)."""
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Api:
    """The few Prefect REST calls the tests need (deliberately not the Prefect client)."""

    api_url: str
    auth_string: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return basic_auth_header(self.auth_string) if self.auth_string else {}

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call; 429/502/503 are retried like Prefect's own client does (SQLite
        answers 503 while another writer holds the database)."""
        for attempt in range(6):
            r = httpx.request(
                method, f"{self.api_url}{path}", json=body, headers=self.headers, timeout=30
            )
            if r.status_code not in (429, 502, 503) or attempt == 5:
                break
            time.sleep(0.5 * (attempt + 1))
        r.raise_for_status()
        return r.json() if r.content else None

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call("POST", path, body or {})

    def deployment(self, full_name: str) -> dict[str, Any]:
        return self.get(f"/deployments/name/{full_name}")  # type: ignore[no-any-return]

    def wait_for_deployments(self, names: list[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        missing = names
        while time.monotonic() < deadline:
            missing = []
            for n in names:
                r = httpx.get(f"{self.api_url}/deployments/name/{n}", headers=self.headers)
                if r.status_code != 200:
                    missing.append(n)
            if not missing:
                return
            time.sleep(1)
        raise AssertionError(f"deployments never appeared: {missing}")

    def start_run(self, full_name: str, parameters: dict[str, Any] | None = None) -> str:
        dep = self.deployment(full_name)
        run = self.post(
            f"/deployments/{dep['id']}/create_flow_run", {"parameters": parameters or {}}
        )
        return str(run["id"])

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return self.get(f"/flow_runs/{run_id}")  # type: ignore[no-any-return]

    def wait_for_state(self, run_id: str, states: set[str], timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = self.flow_run(run_id)
            state = (run.get("state") or {}).get("type")
            if state in states:
                return run
            if state in TERMINAL:
                raise AssertionError(f"flow run ended {state}: {run['state'].get('message')}")
            time.sleep(1)
        raise AssertionError(f"flow run {run_id} still {run.get('state', {}).get('type')}")

    def wait_for_events(self, prefix: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Events whose name starts with ``prefix`` (the server stores them in batches)."""
        since = "2000-01-01T00:00:00Z"
        deadline = time.monotonic() + timeout
        events: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            events = self.post(
                "/events/filter",
                {
                    "filter": {"event": {"prefix": [prefix]}, "occurred": {"since": since}},
                    "limit": 50,
                },
            )["events"]
            if events:
                return events
            time.sleep(1)
        return events

    def flow_runs(self, flow_name: str) -> list[dict[str, Any]]:
        return self.post(  # type: ignore[no-any-return]
            "/flow_runs/filter",
            {"flows": {"name": {"any_": [flow_name]}}, "sort": "START_TIME_DESC"},
        )


@contextmanager
def postgres_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A brand-new PostgreSQL database (its psycopg URL), dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def asyncpg_url(psycopg_url: str) -> str:
    return psycopg_url.replace("postgresql+psycopg://", "postgresql+asyncpg://", 1)


ROLLOUT_YAML = """\
title: Millennium (test)
updated: 2026-11-27
functions:
  inskrivning: Inskrivningsmeddelande
stages:
  - id: etapp-1
    name: Etapp 1 – Södra området
    areas: [south]
    functions: [inskrivning]
    planned_go_live: {planned}
    {state}
"""


def write_rollout(path: Path, *, live_on: str | None = None, planned: str = "2026-12-01") -> None:
    """A one-stage rollout: planned, or live since ``live_on``."""
    state = f"status: live\n    actual_go_live: {live_on}" if live_on else "status: planned"
    path.write_text(ROLLOUT_YAML.format(planned=planned, state=state), encoding="utf-8")


def dated_copy(template: Path, folder: Path) -> Path:
    """``template`` with every ``${today+Nd}`` / ``${today-Nd}`` replaced by that day (the
    project's today), written into ``folder``: an end-to-end run acts on the real day, so
    its plan is dated from it and the test does not age."""
    import re
    from datetime import timedelta

    from models import clock

    today = clock.today()
    text = re.sub(
        r"\$\{today([+-]\d+)d\}",
        lambda m: (today + timedelta(days=int(m.group(1)))).isoformat(),
        template.read_text(encoding="utf-8"),
    )
    out = folder / template.name
    out.write_text(text, encoding="utf-8")
    return out

