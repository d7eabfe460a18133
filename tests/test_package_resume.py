"""Resumable archiving: ``kill -9`` in the middle of a table, run again, and the package is
byte-identical to an uninterrupted run; a source changed in between is caught."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from flows.wiring import PACKAGE_EXTRAS
from models.ledger import upgrade_ledger
from tasks.archive.resume import WORK_DIR_NAME
from tasks.archive.run import archive_database
from tasks.archive.verify import verify_package
from tasks.synthetic import generate
from tests.archive_helpers import ARCHIVAL_DATE, same_tree

ROOT = Path(__file__).resolve().parent.parent


def _start(url: str, out: Path, ledger: Path) -> subprocess.Popen[bytes]:
    upgrade_ledger(f"sqlite:///{ledger}")  # as `samsa-decom up` does
    return subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "archive", "--source", url, "--out", str(out),
         "--date", ARCHIVAL_DATE.isoformat(), "--ledger", f"sqlite:///{ledger}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _kill_mid_table(proc: subprocess.Popen[bytes], out: Path, folder: str) -> None:
    """SIGKILL once ``folder`` (e.g. the message table) is partly written."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        parts = list(out.glob(f"{WORK_DIR_NAME}/*/tables/{folder}.part/{folder}.xml"))
        if parts and parts[0].stat().st_size > 200_000:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return
        if proc.poll() is not None:
            raise AssertionError("the run ended before it could be killed mid-table")
        time.sleep(0.005)
    proc.kill()
    raise AssertionError("timed out waiting for the table to be half written")


def test_killed_mid_table_then_resumed_gives_the_identical_package(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=60_000, seed=21)
    reference = archive_database(
        url, tmp_path / "reference", archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS
    )

    out = tmp_path / "out"
    proc = _start(url, out, tmp_path / "ledger.sqlite")
    _kill_mid_table(proc, out, "table6")  # table6 = message (tables are numbered by name)
    work = next((out / WORK_DIR_NAME).iterdir())
    finished = sorted(p.name for p in (work / "tables").iterdir() if not p.name.endswith(".part"))
    assert "table6" not in finished and len(finished) >= 1
    assert (work / "tables" / "table6.part").exists()
    assert not any(
        p.name.startswith("samsa-") and not p.name.endswith(".part") for p in out.iterdir()
    )

    again = _start(url, out, tmp_path / "ledger.sqlite")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()
    assert f"kept {len(finished)} tables from an earlier run" in stderr.decode()
    package = Path(stdout.decode().strip().splitlines()[-1])
    assert package.name == reference.package.name
    assert same_tree(package, reference.package) == []
    assert not (out / WORK_DIR_NAME).exists()


def test_a_source_changed_between_runs_is_not_marked_verified(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=3000, seed=5)

    class Stop(Exception):
        pass

    def stop_after_person(name: str) -> None:
        if name == "person":
            raise Stop

    out = tmp_path / "out"
    try:
        archive_database(
            url,
            out,
            archival_date=ARCHIVAL_DATE,
            after_table=stop_after_person,
            extras=PACKAGE_EXTRAS,
        )
    except Stop:
        pass
    eng = create_engine(url)
    with eng.begin() as c:  # a change to an already archived table
        c.execute(text("UPDATE access_log SET action = 'print' WHERE id = 1"))
    eng.dispose()
    outcome = archive_database(url, out, archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS)
    assert not outcome.verified
    assert any("access_log" in p and "changed" in p for p in outcome.problems)
    report = (outcome.package / "documentation/archive-report.md").read_text()
    assert "NOT verified" in report


def test_a_second_concurrent_run_is_refused(tmp_path: Path) -> None:
    import fcntl

    import pytest

    from models.errors import InputError
    from tasks.archive.resume import source_key

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=500, seed=1)
    out = tmp_path / "out"
    out.mkdir()
    with open(out / f".samsa-archive-{source_key(url)}.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="already working"):
            archive_database(url, out, archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS)
    assert archive_database(url, out, archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS).verified


def test_a_lost_siard_part_makes_the_resumed_run_write_the_tables_again(tmp_path: Path) -> None:
    """Finished tables keep their XML only inside the .siard being written; if that file is
    gone after the kill, the next run writes them again and still makes the same package."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=60_000, seed=21)
    reference = archive_database(
        url, tmp_path / "reference", archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS
    )
    out = tmp_path / "out"
    proc = _start(url, out, tmp_path / "ledger.sqlite")
    _kill_mid_table(proc, out, "table6")
    work = next((out / WORK_DIR_NAME).iterdir())
    assert (work / "siard-state.json").exists()
    assert not (work / "tables" / "table0" / "table0.xml").exists()  # it lives in the .siard
    (work / "archive.siard.part").unlink()
    again = _start(url, out, tmp_path / "ledger.sqlite")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()
    assert "kept" not in stderr.decode()
    package = Path(stdout.decode().strip().splitlines()[-1])
    assert same_tree(package, reference.package) == []


def _kill_while_streaming(proc: subprocess.Popen[bytes], out: Path, folder: str) -> None:
    """SIGKILL once ``folder``'s table file has grown 200 kB inside the .siard (on the C path it
    is written straight into its ZIP entry: there is no table file to watch)."""
    deadline = time.monotonic() + 120
    base: int | None = None
    while time.monotonic() < deadline:
        parts = list(out.glob(f"{WORK_DIR_NAME}/*/tables/{folder}.part"))
        siard = list(out.glob(f"{WORK_DIR_NAME}/*/archive.siard.part"))
        if parts and siard:
            size = siard[0].stat().st_size
            base = size if base is None else base
            if size - base > 200_000:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return
        if proc.poll() is not None:
            raise AssertionError("the run ended before it could be killed mid-table")
        time.sleep(0.002)
    proc.kill()
    raise AssertionError("timed out waiting for the table to be half written")


def test_killed_while_a_table_streams_into_the_siard_then_resumed_gives_the_same_package(
    tmp_path: Path, pg_url: str
) -> None:
    """PostgreSQL's C path writes each table file straight into the .siard's ZIP entry. A
    ``kill -9`` in the middle of one leaves an unfinished entry at the end of the .siard; the
    next run cuts it off, keeps the finished tables and writes the same package byte for byte."""
    generate(pg_url, scale=60_000, seed=21)
    reference = archive_database(
        pg_url, tmp_path / "reference", archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS
    )
    out = tmp_path / "out"
    proc = _start(pg_url, out, tmp_path / "ledger.sqlite")
    _kill_while_streaming(proc, out, "table6")  # message
    work = next((out / WORK_DIR_NAME).iterdir())
    assert not (work / "tables" / "table6.part" / "table6.xml").exists()  # in the .siard only
    finished = sorted(p.name for p in (work / "tables").iterdir() if not p.name.endswith(".part"))
    assert "table6" not in finished and len(finished) >= 1

    again = _start(pg_url, out, tmp_path / "ledger.sqlite")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()
    assert f"kept {len(finished)} tables from an earlier run" in stderr.decode()
    package = Path(stdout.decode().strip().splitlines()[-1])
    assert same_tree(package, reference.package) == []
    for made in (package, reference.package):  # the .siard's SHA-256, taken while it grew
        assert verify_package(made).ok, verify_package(made).problems
