"""``samsa-decom archive`` refuses bad input in one line (exit 2) before writing anything:
a source that is no database URL, a package folder that cannot be made."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli import main


def _run(tmp_path: Path, *argv: str, capsys: pytest.CaptureFixture[str]) -> str:
    ledger = f"sqlite:///{tmp_path / 'work' / 'ledger.db'}"
    assert main(["archive", "--ledger", ledger, *argv]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return captured.err.strip()


def test_a_source_that_is_no_url_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    said = _run(tmp_path, "--source", "notaurl", "--out", str(work / "pkg"), capsys=capsys)
    assert "--source: not a database URL" in said
    assert len(said.splitlines()) == 1
    assert list(work.iterdir()) == []


def test_a_password_in_a_bad_url_is_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    said = _run(tmp_path, "--source", "postgres ql://u:hemligt@host/db",
                "--out", str(tmp_path / "pkg"), capsys=capsys)  # fmt: skip
    assert "--source" in said and "hemligt" not in said


@pytest.mark.parametrize("under_a_file", [True, False])
def test_an_out_folder_that_cannot_be_made_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], under_a_file: bool
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    blocker = work / "a-file.txt"
    blocker.write_text("not a folder")
    out = blocker / "pkg" if under_a_file else blocker
    source = f"sqlite:///{work / 'samsa.db'}"
    said = _run(tmp_path, "--source", source, "--out", str(out), capsys=capsys)
    assert said.startswith(f"error: --out {out}:") and "folder" in said
    assert len(said.splitlines()) == 1
    assert sorted(p.name for p in work.iterdir()) == ["a-file.txt"]
