"""`samsa-decom up` refuses a taken port; `samsa-decom doctor` says what is wrong (no server)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, env_home: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "SAMSA_DECOM_HOME": str(env_home), "PYTHONPATH": str(REPO),
           "COLUMNS": "200"}  # fmt: skip
    env.pop("PREFECT_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_up_refuses_a_taken_port_with_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _cli("up", "--port", str(port), "--no-demo", env_home=tmp_path)
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert not (tmp_path / "prefect").exists()  # nothing was started


def test_doctor_without_a_server_fails_and_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _cli("doctor", "--api-url", f"http://127.0.0.1:{port}/api", env_home=tmp_path)
    assert result.returncode == 1
    assert "not reachable" in result.stdout
    assert "./run up" in result.stdout
    assert "Prefect server" in result.stderr and "SAMSA database" in result.stderr
    assert "no such file" in result.stdout  # the ledger and demo database do not exist yet
