"""A crash at the end of an archive run loses nothing: the finished package replaces an older
one without the older one ever being deleted first, and a manifest emptied by a power loss
does not stop the next run from resuming."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.archive import durable
from tasks.archive.resume import WORK_DIR_NAME
from tasks.archive.run import archive_database
from tasks.synthetic import generate
from tests.archive_helpers import ARCHIVAL_DATE, same_tree


def _folder(path: Path, marker: str) -> Path:
    path.mkdir()
    (path / "METS.xml").write_text(marker)
    (path / "data").mkdir()
    (path / "data" / "x.siard").write_text(marker * 3)
    return path


def test_a_new_package_replaces_the_old_one_whole(tmp_path: Path) -> None:
    final = _folder(tmp_path / "pkg", "old")
    staging = _folder(tmp_path / "pkg.part", "new")
    durable.replace_folder(staging, final)
    assert (final / "METS.xml").read_text() == "new"
    assert (final / "data" / "x.siard").read_text() == "newnewnew"
    assert not staging.exists() and not (tmp_path / "pkg.previous").exists()


def test_a_crash_after_the_swap_leaves_the_new_package_and_the_old_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = _folder(tmp_path / "pkg", "old")
    staging = _folder(tmp_path / "pkg.part", "new")

    def crash(path: Path, *a: object, **k: object) -> None:
        raise SystemExit("power loss")

    monkeypatch.setattr(durable.shutil, "rmtree", crash)
    with pytest.raises(SystemExit):
        durable.replace_folder(staging, final)
    assert (final / "METS.xml").read_text() == "new"
    survivors = [p for p in tmp_path.iterdir() if p.name.startswith("pkg") and p != final]
    assert [(p / "METS.xml").read_text() for p in survivors] == ["old"]


def test_an_empty_manifest_after_a_power_loss_starts_the_work_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=800, seed=5)
    reference = archive_database(url, tmp_path / "reference", archival_date=ARCHIVAL_DATE)
    out = tmp_path / "out"

    def stop_after_three(table: str, seen: list[str] = []) -> None:  # noqa: B006
        seen.append(table)
        if len(seen) == 3:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        archive_database(url, out, archival_date=ARCHIVAL_DATE, after_table=stop_after_three)
    work = next((out / WORK_DIR_NAME).iterdir())
    (work / "manifest.json").write_bytes(b"")
    for result in (work / "tables").glob("*/result.json"):
        result.write_bytes(b"")  # every finished table's record lost too
    again = archive_database(url, out, archival_date=ARCHIVAL_DATE)
    assert again.verified, again.problems
    assert same_tree(again.package, reference.package) == []
    twice = archive_database(url, out, archival_date=ARCHIVAL_DATE)  # replaces it in place
    assert twice.package == again.package and twice.verified
    assert same_tree(twice.package, reference.package) == []
