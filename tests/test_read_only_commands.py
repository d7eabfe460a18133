"""Commands that only read never create a ledger: a mistyped SQLite URL in a folder that does
not exist exits 2 naming the URL, and the folder is still not there afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "verify"],
        ["audit", "show"],
        ["status"],
        ["plan"],
        ["verify", "{package}"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_mistyped_ledger_url_exits_2_and_creates_nothing(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "no" / "such" / "dir"
    url = f"sqlite:///{folder}/l.sqlite"
    package = tmp_path / "package"
    package.mkdir()
    args = [a.replace("{package}", str(package)) for a in argv]

    assert main([*args, "--ledger", url]) == 2

    err = capsys.readouterr().err
    assert f"no ledger at {url}" in " ".join(err.split())
    assert not (tmp_path / "no").exists()


def test_doctor_names_a_missing_ledger_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.settings import get_settings

    url = f"sqlite:///{tmp_path}/no/such/dir/l.sqlite"
    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", url)
    get_settings.cache_clear()
    assert main(["doctor", "--api-url", "http://127.0.0.1:9/api"]) == 1
    assert "no such file" in capsys.readouterr().out
    assert not (tmp_path / "no").exists()


def test_upgrade_ledger_is_what_creates_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new/dir/l.sqlite"
    assert main(["upgrade-ledger", "--ledger", url]) == 0
    assert main(["audit", "verify", "--ledger", url]) == 0
