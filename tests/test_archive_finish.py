"""The end of an archive run: the finished .siard is put in the package while the re-read of
the last tables still runs (the extras are made from it meanwhile). The package is the same
with or without that overlap; a run that fails in it leaves nothing that looks complete, and a
run again gives the same package."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.wiring import PACKAGE_EXTRAS
from tasks.archive import run as archive_run
from tasks.archive.resume import WORK_DIR_NAME
from tasks.archive.run import archive_database
from tasks.archive.verify import verify_package
from tasks.synthetic import generate
from tests.archive_helpers import ARCHIVAL_DATE, same_tree


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('src') / 'db.sqlite'}"
    generate(url, scale=20_000, seed=5)
    return url


@pytest.fixture(scope="module")
def reference(source: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outcome = archive_database(
        source, tmp_path_factory.mktemp("ref"), archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS
    )
    assert outcome.verified, outcome.problems
    return outcome.package


def test_without_hard_links_the_package_is_the_same(
    source: str, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(archive_run.os, "link", no_links)
    outcome = archive_database(source, tmp_path, archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS)
    assert outcome.verified, outcome.problems
    assert same_tree(outcome.package, reference) == []
    assert not (tmp_path / WORK_DIR_NAME).exists()


def test_the_siard_in_the_package_has_one_name_once_the_run_is_done(
    source: str, reference: Path, tmp_path: Path
) -> None:
    outcome = archive_database(source, tmp_path, archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS)
    siard = next(outcome.package.rglob("*.siard"))
    assert siard.stat().st_nlink == 1  # the work folder's name for it is gone
    assert not (tmp_path / WORK_DIR_NAME).exists()
    assert verify_package(outcome.package, deep=True).ok


def test_a_run_failing_while_the_last_tables_are_reread_leaves_no_package_and_resumes(
    source: str, reference: Path, tmp_path: Path
) -> None:
    """An extra that fails after the .siard got its package name, while the re-read runs: no
    package folder appears, and the next run goes on from the work folder to the same bytes."""

    def failing_extra(siard: Path, source_url: str, work_dir: Path) -> list[Path]:
        assert siard.is_file() and siard.stat().st_nlink == 2  # linked, re-read still going
        raise RuntimeError("the extra failed")

    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="the extra failed"):
        archive_database(
            source, out, archival_date=ARCHIVAL_DATE,
            extras=[*PACKAGE_EXTRAS, failing_extra],
        )  # fmt: skip
    packages = [p.name for p in out.iterdir() if p.name.startswith("samsa-")]
    assert packages == [f"{reference.name}.part"]  # the unfinished package, named as such
    assert (out / WORK_DIR_NAME).is_dir()  # what the next run goes on from
    again = archive_database(source, out, archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS)
    assert again.verified, again.problems
    assert len(again.resumed_tables) > 0
    assert same_tree(again.package, reference) == []
    assert [p.name for p in out.iterdir() if p.name.startswith("samsa-")] == [reference.name]
    assert not (out / WORK_DIR_NAME).exists()
    assert next(again.package.rglob("*.siard")).stat().st_nlink == 1


def test_a_finished_package_shares_no_bytes_with_a_later_runs_work(
    source: str, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run stopped after its package is in place but before its work folder is deleted; the
    next run goes on from that work folder and is itself stopped. The first package is still
    intact: the .siard the work folder kept is not the package's file under another name."""
    out = tmp_path / "out"

    def stopped(*_a: object) -> None:
        raise RuntimeError("stopped before the work folder was deleted")

    with monkeypatch.context() as m:
        m.setattr(archive_run, "remove_work", stopped)
        with pytest.raises(RuntimeError, match="stopped before"):
            archive_database(source, out, archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS)
    package = out / reference.name
    assert same_tree(package, reference) == []
    assert (out / WORK_DIR_NAME).is_dir()

    def stop_after_first_table(_table: str) -> None:
        raise RuntimeError("the second run stopped")

    with pytest.raises(RuntimeError, match="second run stopped"):
        archive_database(
            source, out, archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS,
            after_table=stop_after_first_table,
        )  # fmt: skip
    assert same_tree(package, reference) == []
    assert verify_package(package, deep=True).ok
