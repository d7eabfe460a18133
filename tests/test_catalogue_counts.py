"""The catalogue's row counts are the source's own, in the archive's snapshot: on PostgreSQL a
psql of their own counts the rows while the tables are reflected; rows written by others after
the snapshot began are not counted, an excluded table is not counted, and a psql that fails or
answers nonsense leaves the counting to the archive's own connection, with the same result."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tasks.archive import catalogue as catalogue_module
from tasks.archive.catalogue import read_catalogue
from tasks.archive.exclusions import Exclusion, ExclusionList
from tasks.archive.postgres import copy_stream
from tasks.archive.source import begin_snapshot

pytestmark = pytest.mark.postgres

ROWS = {"alpha.small": 3, "alpha.large": 25_000, "beta.other": 7, "beta.left_out": 11}
#: by table key (the first schema's tables by their bare names); beta.left_out is excluded
EXPECTED = {"large": 25_000, "small": 3, "beta.other": 7}


@pytest.fixture
def two_schemas(pg_url: str) -> str:
    eng = create_engine(pg_url)
    with eng.begin() as c:
        for key, n in ROWS.items():
            schema, name = key.split(".")
            c.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
            c.execute(text(f"CREATE TABLE {key} (id integer PRIMARY KEY, note text)"))
            c.execute(text(f"INSERT INTO {key} SELECT g, 'n' || g FROM generate_series(1, {n}) g"))
    eng.dispose()
    return pg_url


EXCLUDED = ExclusionList(
    exclusions=[
        Exclusion(object="beta.left_out", reason="test: out of scope", decided_by="the test")
    ]
)


def _counts_while_others_write(url: str) -> dict[str, int]:
    """The catalogue's counts, read in a snapshot after which another session adds rows to
    every table (committed before the catalogue is read)."""
    reader, writer = create_engine(url), create_engine(url)
    try:
        with reader.connect() as conn:
            begin_snapshot(conn)
            conn.execute(text("SELECT 1 FROM alpha.small LIMIT 1")).all()  # the snapshot begins
            with writer.begin() as w:
                for key in ROWS:
                    w.execute(text(f"INSERT INTO {key} VALUES (-1, 'later'), (-2, 'later')"))
            found = read_catalogue(conn, EXCLUDED, ["alpha", "beta"]).row_counts
            conn.rollback()
        return found
    finally:
        reader.dispose()
        writer.dispose()


def _spy_counts(monkeypatch: pytest.MonkeyPatch) -> list[list[int] | None]:
    """Each background count's result, as the catalogue received it (the real psql runs)."""
    got: list[list[int] | None] = []
    real = copy_stream.CountsInBackground.result

    def result(self: copy_stream.CountsInBackground) -> list[int] | None:
        got.append(real(self))
        return got[-1]

    monkeypatch.setattr(copy_stream.CountsInBackground, "result", result)
    return got


def test_counts_are_the_snapshots_own_and_taken_beside_the_reflection(
    two_schemas: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = _spy_counts(monkeypatch)
    found = _counts_while_others_write(two_schemas)
    assert found == EXPECTED
    assert got == [[25_000, 3], [7]]  # by psql, one per schema, the excluded table not counted


def test_without_psql_the_connection_counts_the_same(
    two_schemas: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMSA_DECOM_ARCHIVE_PSQL", "0")
    got = _spy_counts(monkeypatch)
    found = _counts_while_others_write(two_schemas)
    assert found == EXPECTED
    assert got == []


@pytest.mark.parametrize(
    "answer",
    ["exit 3", "echo 1; echo 2; echo 3; echo 4", "echo lots; echo of; echo words"],
    ids=["fails", "too-many-lines", "not-numbers"],
)
def test_a_psql_that_fails_or_answers_nonsense_is_not_believed(
    two_schemas: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, answer: str
) -> None:
    fake = tmp_path / "bin" / "psql"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n{answer}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    got = _spy_counts(monkeypatch)
    found = _counts_while_others_write(two_schemas)
    assert found == EXPECTED
    assert got == [None, None]  # psql was asked, its answer set aside


def test_a_catalogue_that_stops_leaves_no_counting_process(
    two_schemas: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[copy_stream.CountsInBackground] = []
    real_init = copy_stream.CountsInBackground.__init__

    def init(self: copy_stream.CountsInBackground, raw: object, tables: list[str]) -> None:
        real_init(self, raw, tables)
        started.append(self)

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("reflection failed")

    monkeypatch.setattr(copy_stream.CountsInBackground, "__init__", init)
    monkeypatch.setattr(catalogue_module, "_Reflection", broken)
    eng = create_engine(two_schemas)
    try:
        with eng.connect() as conn, pytest.raises(RuntimeError, match="reflection failed"):
            begin_snapshot(conn)
            read_catalogue(conn, EXCLUDED, ["alpha", "beta"])
    finally:
        eng.dispose()
    assert len(started) == 1
    assert started[0]._proc.returncode is not None  # ended, and waited for
