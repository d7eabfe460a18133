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
