"""`samsa-decom up` refuses a taken port and an open network address, and keeps basic auth;
`samsa-decom doctor` says what is wrong (no server, files open to other users)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_up_refuses_a_network_address_without_auth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    result = _cli("up", "--host", "0.0.0.0", "--no-demo", env_home=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "--host 0.0.0.0" in line and "PREFECT_SERVER_API_AUTH_STRING" in line
    assert not (tmp_path / "prefect").exists()  # nothing was started


def test_up_keeps_the_operators_basic_auth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploy.serve import embedded_server

    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", "samsa:s3cret")
    server = embedded_server(tmp_path, "0.0.0.0", 4200)
    assert server.environment()["PREFECT_SERVER_API_AUTH_STRING"] == "samsa:s3cret"
    assert server.client_environment()["PREFECT_API_AUTH_STRING"] == "samsa:s3cret"
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING")
    assert "PREFECT_SERVER_API_AUTH_STRING" not in embedded_server(
        tmp_path, "127.0.0.1", 4200
    ).environment()


def test_doctor_warns_about_a_ledger_source_or_home_open_to_others(tmp_path: Path) -> None:
    from deploy.doctor import WARN, check_private_files
    from models.settings import Settings

    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    for name in ("ledger.sqlite", "samsa-demo.sqlite"):
        (home / name).write_bytes(b"")
        (home / name).chmod(0o644)
    warned = {c.todo: c for c in check_private_files(Settings(home=home))}
    assert set(warned) == {f"chmod 700 {home}", f"chmod 600 {home / 'ledger.sqlite'}",
                           f"chmod 600 {home / 'samsa-demo.sqlite'}"}  # fmt: skip
    assert all(c.status == WARN and "open to other users (mode 644" in c.found
               for c in warned.values() if c.todo.startswith("chmod 600"))  # fmt: skip
    result = _cli("doctor", "--api-url", "http://127.0.0.1:9/api", env_home=home)
    assert "private files" in result.stdout and "chmod 600" in result.stdout

    for name in ("ledger.sqlite", "samsa-demo.sqlite"):
        (home / name).chmod(0o600)
    home.chmod(0o700)
    [ok] = check_private_files(Settings(home=home))
    assert ok.status == "OK"
