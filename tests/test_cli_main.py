"""The CLI's own exit codes: usage mistakes are bad input (2), help is fine (0)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deploy.cli import main


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["--help"], 0, "Usage"),
        (["no-such-command"], 2, "No such command"),
        (["verify"], 2, "Missing argument"),
        (["audit", "verify", "--no-such-option"], 2, "No such option"),
    ],
)
def test_usage_mistakes_exit_2_with_a_message(
    argv: list[str], code: int, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == code
    captured = capsys.readouterr()
    assert says in captured.out + captured.err


def _cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command, as an operator runs it (a fresh process reads the settings)."""
    import os

    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *argv],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})}, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SAMSA_DECOM_LANGUAGE": "fr"}, "SAMSA_DECOM_LANGUAGE: expected one of 'sv' or 'en'"),
        ({"SAMSA_DECOM_NOTIFY_THRESHOLDS": "30,soon"}, "SAMSA_DECOM_NOTIFY_THRESHOLDS"),
        ({"SAMSA_DECOM_APPRISE_URLS": "[json://x"}, "SAMSA_DECOM_APPRISE_URLS: starts with '['"),
        ({"SAMSA_DECOM_APPROVAL_TIMEOUT_DAYS": "3"},
         "SAMSA_DECOM_APPROVAL_TIMEOUT_DAYS is now SAMSA_DECOM_MILESTONE_APPROVAL_TIMEOUT_DAYS"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(env: dict[str, str], says: str) -> None:
    done = _cli("plan", env=env)
    assert done.returncode == 2
    assert says in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("value", "urls"),
    [
        ("json://127.0.0.1:9/hook", ["json://127.0.0.1:9/hook"]),
        ("json://a/b, mailto://ops@example.org", ["json://a/b", "mailto://ops@example.org"]),
        ('["json://a/b"]', ["json://a/b"]),
    ],
)
def test_apprise_urls_take_a_plain_url_a_comma_list_or_json(
    value: str, urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.settings import get_settings

    monkeypatch.setenv("SAMSA_DECOM_APPRISE_URLS", value)
    get_settings.cache_clear()
    assert get_settings().apprise_urls == urls


def test_up_refuses_a_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--port", "99999"]) == 2
    assert "--port" in capsys.readouterr().err


def test_the_quick_exit_still_finishes_what_the_process_started(tmp_path: Path) -> None:
    """``exit_process`` skips the shutdown's slow collections, not the work: garbage in a
    reference cycle (only a garbage collection reaches it) still has its finalizer run, what
    was printed is flushed whole, ``atexit`` handlers run, and the exit code is the
    command's."""
    cycle, at_exit = tmp_path / "cycle", tmp_path / "atexit"
    script = f"""
import atexit, gc
from deploy.cli import exit_process
gc.disable()  # as during an archive run: the cycle below waits for a collection
class Holder:
    def __del__(self):
        open({str(cycle)!r}, "w").write("finalized")
h = Holder()
h.me = h
del h
import sys
sys.stdout.write("x" * 100_000)  # no newline: still in the buffer at exit
atexit.register(lambda: open({str(at_exit)!r}, "w").write("ran"))
gc.enable()
exit_process(3)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert cycle.read_text() == "finalized"
    assert done.stdout == "x" * 100_000
    assert at_exit.read_text() == "ran"


def test_a_command_run_as_a_module_keeps_its_exit_code_and_output() -> None:
    done = _cli("verify", "/no/such/package")
    assert done.returncode == 2
    assert "no such package folder" in done.stderr
