"""``samsa-decom verify``: a flipped byte, a truncated file, a deleted file and an added file
are each named; an intact package exits 0; a missing folder is bad input (exit 2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ledgers import upgraded

from deploy.cli import main
from flows.wiring import PACKAGE_EXTRAS
from tasks.archive.run import archive_database
from tasks.archive.verify import verify_package
from tasks.synthetic import generate
from tests.archive_helpers import ARCHIVAL_DATE


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("verify")
    url = f"sqlite:///{tmp / 'db.sqlite'}"
    generate(url, scale=2000, seed=3)
    return archive_database(
        url, tmp / "out", archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS
    ).package


@pytest.fixture
def package(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / pristine.name
    shutil.copytree(pristine, copy)
    return copy


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_intact_package_exits_0(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(package), "--deep"]) == 0
    assert "intact" in capsys.readouterr().out


def test_each_kind_of_damage_is_named(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    siard = next(package.glob("representations/rep1/data/*.siard"))
    _flip_byte(siard, siard.stat().st_size // 2)
    premis = package / "metadata/preservation/premis.xml"
    premis.write_bytes(premis.read_bytes()[:-40])
    (package / "documentation/archive-report.md").unlink()
    (package / "representations/rep1/data/notes.txt").write_text("added later")
    verdict = verify_package(package)
    found = {(p.path, p.kind) for p in verdict.problems}
    assert found == {
        ("representations/rep1/data/SAMSA.siard", "damaged"),
        ("metadata/preservation/premis.xml", "damaged"),
        ("documentation/archive-report.md", "missing"),
        ("representations/rep1/data/notes.txt", "unexpected"),
    }
    truncated = next(p for p in verdict.problems if p.path.endswith("premis.xml"))
    assert "truncated" in truncated.detail
    assert main(["verify", str(package)]) == 1
    err = capsys.readouterr().err
    for path, _ in found:
        assert path in err


def test_a_flipped_byte_inside_a_table_is_found_by_checksum_and_by_the_deep_check(
    package: Path,
) -> None:
    siard = next(package.glob("representations/rep1/data/*.siard"))
    from tasks.archive.reader import open_siard

    with open_siard(siard) as archive:
        table = archive.table("message")
        off, length = next(iter(archive.row_spans(table)))
        base = archive.entry_offset(table)
    _flip_byte(siard, base + off + length // 2)
    problems = verify_package(package).problems
    assert [(p.path, p.kind) for p in problems] == [
        ("representations/rep1/data/SAMSA.siard", "damaged")
    ]


def test_a_changed_root_mets_is_caught_through_the_ledger(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.settings import get_settings
    from tasks.archive.package import sha256_file
    from tasks.archive.record import find_package

    ledger = upgraded(get_settings().resolved_ledger_url())
    from models.ledger.archive import ArchivePackage, PackageState

    with ledger.unit_of_work() as s:
        s.add(
            ArchivePackage(
                objid=package.name, path=str(package.resolve()), source_key="x",
                mets_sha256=sha256_file(package / "METS.xml"), siard_sha256="0" * 64,
                siard_bytes=0, total_rows=0, tables={}, state=PackageState.verified,
                detail="", archival_date=ARCHIVAL_DATE,
            )
        )  # fmt: skip
    assert find_package(ledger, package) is not None
    ledger.close()
    mets = package / "METS.xml"
    mets.write_text(mets.read_text().replace("SAMSA database archive", "SAMSA database archivE"))
    assert main(["verify", str(package)]) == 1
    assert "METS.xml" in capsys.readouterr().err


def test_missing_package_is_bad_input(tmp_path: Path) -> None:
    assert main(["verify", str(tmp_path / "nope")]) == 2


def test_archive_of_a_missing_source_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'nope.sqlite'}"
    assert main(["archive", "--source", url, "--out", str(tmp_path / "out")]) == 2
    assert "no such SQLite file" in capsys.readouterr().err
    assert not (tmp_path / "nope.sqlite").exists()


def test_deep_verify_with_schemas_validates_every_table_file_and_agrees(
    tmp_path: Path,
) -> None:
    """``verify --deep --schemas`` takes the libxml2 + XSD path for every table file: the same
    verdict on an intact package, and exit 2 when --schemas comes without --deep."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=800, seed=4)
    outcome = archive_database(url, tmp_path / "out", extras=PACKAGE_EXTRAS)
    fast = verify_package(outcome.package, deep=True)
    strict = verify_package(outcome.package, deep=True, schemas=True)
    assert fast.ok and strict.ok and fast.tables_checked == strict.tables_checked > 10
    env_home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "verify", str(outcome.package), "--schemas"],
        capture_output=True, text=True, env={**os.environ, "SAMSA_DECOM_HOME": str(env_home)},
    )  # fmt: skip
    assert done.returncode == 2 and "--deep" in done.stderr


def test_background_digests_judge_a_file_by_what_it_holds_when_checked(package: Path) -> None:
    """verify hashes the files on threads while it opens the ledger. A file changed after its
    digest was taken (same size, a byte flipped) must still be found damaged: a digest counts
    only for the very file it was taken of, and a file added meanwhile is hashed when asked."""
    from tasks.archive.file_digests import FileDigests, sha256_of

    siard = next(package.glob("representations/rep1/data/*.siard"))
    with FileDigests(package) as digests:
        assert digests.of(siard) == sha256_of(siard)  # the digest has been taken
        _flip_byte(siard, siard.stat().st_size // 3)
        os.utime(siard, ns=(siard.stat().st_atime_ns, siard.stat().st_mtime_ns + 1_000_000))
        assert digests.of(siard) == sha256_of(siard)  # hashed again, not the earlier digest
        later = package / "documentation" / "later.txt"
        later.write_text("written after the start")
        assert digests.of(later) == sha256_of(later)
        later.unlink()
        verdict = verify_package(package, digests=digests)
    assert [(p.path, p.kind) for p in verdict.problems] == [
        ("representations/rep1/data/SAMSA.siard", "damaged")
    ]
    assert verify_package(package).problems == verdict.problems  # the same as without


def test_verify_starts_hashing_before_its_command_is_imported(package: Path) -> None:
    """The command line's entry point finds the package of a plain ``verify`` line; the command
    takes those digests over; anything else starts nothing."""
    from deploy.cli import _start_verify_digests
    from tasks.archive import file_digests

    try:
        for argv in (["verify", "--help"], ["archive", str(package)], ["verify", "--deep"],
                     ["verify", str(package / "no-such-folder")], []):  # fmt: skip
            _start_verify_digests(argv)
            assert file_digests._EARLY == {}, argv
        _start_verify_digests(["verify", "--deep", "--ledger", "sqlite:///x.db", str(package)])
        early = file_digests._EARLY[package.absolute()]
        assert file_digests.digests_for(package) is early and file_digests._EARLY == {}
        early.close()
        _start_verify_digests(["verify", str(package)])
        other = package.parent / "other"
        other.mkdir()
        with file_digests.digests_for(other) as fresh:  # not the one started early: dropped
            assert fresh.root == other.absolute() and file_digests._EARLY == {}
    finally:
        file_digests.drop_early()


def test_a_byte_changed_after_the_early_digest_with_its_time_put_back_is_found(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An attacker who flips a byte after the early hashing and then restores the file's
    modification time: the change time still differs, so the file is hashed again."""
    from tasks.archive import file_digests

    siard = next(package.glob("representations/rep1/data/*.siard"))
    file_digests.start_early(package)
    assert file_digests._EARLY[package.absolute()].of(siard)  # taken before the change
    before = siard.stat()
    _flip_byte(siard, before.st_size // 3)
    os.utime(siard, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert siard.stat().st_mtime_ns == before.st_mtime_ns
    assert main(["verify", str(package)]) == 1
    assert "SAMSA.siard" in capsys.readouterr().err
    assert file_digests._EARLY == {}
