"""A Prefect server as a child process: start it, wait until it answers, stop it cleanly.

Used by ``samsa-decom up`` (the embedded default on SQLite) and by the end-to-end tests
(SQLite or PostgreSQL, with or without basic auth). The server runs in its own process group,
so stopping it also stops anything it started, and with umask 077: its home, database and log
are its user's only (they hold flow-run parameters, logs and Variables).
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from models.errors import CheckFailed, InputError
from tasks.private_files import PRIVATE_UMASK


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (and we may bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def basic_auth_header(auth_string: str) -> dict[str, str]:
    """The ``Authorization`` header Prefect expects for ``user:password``."""
    token = base64.b64encode(auth_string.encode()).decode()
    return {"Authorization": f"Basic {token}"}


def prefect_executable() -> list[str]:
    """How to run the ``prefect`` CLI of this interpreter's environment."""
    return [sys.executable, "-m", "prefect"]


@dataclass
class PrefectServer:
    """One ``prefect server start`` child process.

    ``database_url`` None means SQLite under ``home``; otherwise e.g.
    ``postgresql+asyncpg://postgres@127.0.0.1:5432/prefect``. ``auth_string`` (``user:pass``)
    turns on Prefect's basic auth: every API call without it is refused.
    """

    home: Path
    host: str = "127.0.0.1"
    port: int = 4200
    database_url: str | None = None
    auth_string: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def log_path(self) -> Path:
        return self.home / "prefect-server.log"

    def environment(self) -> dict[str, str]:
        """The environment the server runs with (the parent's, plus Prefect settings)."""
        env = dict(os.environ)
        for key in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING"):
            env.pop(key, None)
        env.update(
            {
                "PREFECT_HOME": str(self.home),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_API_HOST": self.host,
                "PREFECT_SERVER_API_PORT": str(self.port),
                "PREFECT_UI_API_URL": self.api_url,
            }
        )
        if self.database_url:
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = self.database_url
        if self.auth_string:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.auth_string
        env.update(self.extra_env)
        return env

    def client_environment(self) -> dict[str, str]:
        """Settings a client process (worker, CLI, flow run) needs to talk to this server."""
        env = {"PREFECT_API_URL": self.api_url}
        if self.auth_string:
            env["PREFECT_API_AUTH_STRING"] = self.auth_string
        return env

    def start(self, timeout: float = 180.0) -> None:
        """Start the server and wait until ``/api/health`` answers; refuse a taken port."""
        if not port_is_free(self.host, self.port):
            raise InputError(
                f"port {self.port} on {self.host} is already in use (another samsa-decom or "
                f"Prefect server?): stop it or choose another port with --port"
            )
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._log = os.fdopen(fd, "ab")
        self.process = subprocess.Popen(
            [
                *prefect_executable(),
                "server",
                "start",
                "--host",
                self.host,
                "--port",
                str(self.port),
            ],
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() reaches its children
            umask=PRIVATE_UMASK,
        )
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise CheckFailed(
                    f"the Prefect server stopped during start-up (exit code "
                    f"{self.process.returncode}); its log, {self.log_path}, ends with:\n"
                    f"{self.log_tail()}"
                )
            try:
                r = httpx.get(f"{self.api_url}/health", timeout=2.0)
                if r.status_code == 200:
                    return
                last_error = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last_error = type(exc).__name__
            time.sleep(0.5)
        raise CheckFailed(
            f"the Prefect server at {self.url} did not become healthy within {timeout:.0f} s "
            f"({last_error}); see {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 15.0) -> None:
        """Stop the server's process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if proc is not None:
            _signal_group(proc.pid, signal.SIGKILL)  # stragglers in the group, if any
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> PrefectServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
