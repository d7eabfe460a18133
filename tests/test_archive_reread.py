"""The re-read during archiving is independent of the writer: a wrong escape in the written XML
(valid XML, wrong value) makes the archive's digest differ from the source's, so the package is
NOT marked verified, on the PostgreSQL fast path and on the generic writer alike."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tasks.archive import writer
from tasks.archive.postgres import c_path, sql_path
from tasks.archive.reader import open_siard
from tasks.archive.run import archive_database
from tasks.archive.verdict import compare_reread
from tasks.synthetic import generate
from tests.archive_helpers import ARCHIVAL_DATE


class _WrongC:
    """The C converter, with one wrong "escape" added to the XML it writes."""

    def __init__(self, real: object) -> None:
        self.real = real

    def copy_to_siard(self, *args: object) -> tuple[bytes, bytes, int, list[object]]:
        xml, digest_sum, rows, lobs = self.real.copy_to_siard(*args)  # type: ignore[attr-defined]
        return xml.replace("ö".encode(), b"o"), digest_sum, rows, lobs


def test_a_wrong_escape_in_the_written_xml_fails_the_verification(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server-side SQL path (PostgreSQL) and the generic writer (SQLite)."""
    generate(db_url, scale=600, seed=5)
    if db_url.startswith("postgresql"):
        monkeypatch.setenv("SAMSA_DECOM_ARCHIVE_C", "0")
        right = sql_path._escaped_text
        monkeypatch.setattr(
            sql_path, "_escaped_text", lambda col: f"replace({right(col)}, 'ö', 'o')"
        )
    else:
        right_py = writer.encode_text
        monkeypatch.setattr(writer, "encode_text", lambda v: right_py(v).replace("ö", "o"))
    _assert_not_verified(db_url, tmp_path)


@pytest.mark.postgres
def test_a_wrong_escape_written_by_the_c_path_fails_the_verification(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(pg_url, scale=600, seed=5)
    if not c_path.c_path_enabled():
        pytest.skip("no C module here (built by pip install where a compiler is)")
    monkeypatch.setattr(c_path, "_siardc", _WrongC(c_path._siardc))
    _assert_not_verified(pg_url, tmp_path)


def _assert_not_verified(url: str, tmp_path: Path) -> None:
    outcome = archive_database(url, tmp_path / "out", archival_date=ARCHIVAL_DATE)
    assert not outcome.verified
    assert any("digest" in p for p in outcome.problems), outcome.problems
    report = (outcome.package / "documentation" / "archive-report.md").read_text()
    assert "NOT verified" in report


def test_a_table_reread_with_other_column_types_than_metadata_declares_is_a_problem(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=300, seed=5)
    outcome = archive_database(url, tmp_path / "out", archival_date=ARCHIVAL_DATE)
    assert outcome.verified, outcome.problems
    with open_siard(outcome.package) as archive:
        siard = archive.path
        tables = archive.tables()
    expected = {t.name: (t.rows, t.digest) for t in outcome.tables}
    found = {t.name: (t.rows, t.digest, []) for t in outcome.tables}
    assert compare_reread(siard, expected, found, tables) == []  # type: ignore[arg-type]
    person = next(t for t in tables if t.name == "person")
    wrong = replace(person, columns=(replace(person.columns[0], sql_type="VARCHAR(9)"),
                                     *person.columns[1:]))  # fmt: skip
    problems = compare_reread(siard, expected, found, [wrong])  # type: ignore[arg-type]
    assert len(problems) == 1 and problems[0].startswith("person: re-read as")


def test_the_reread_finds_a_changed_value_and_a_cell_against_the_table_schema(
    tmp_path: Path,
) -> None:
    import shutil

    from tasks.archive.verdict import verify_siard

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=300, seed=5)
    outcome = archive_database(url, tmp_path / "out", archival_date=ARCHIVAL_DATE)
    expected = {t.name: (t.rows, t.digest) for t in outcome.tables}
    with open_siard(outcome.package) as archive:
        siard = archive.path
        table = archive.table("message")
        spans = list(archive.row_spans(table))
        base = archive.entry_offset(table)
    assert verify_siard(siard, expected) == []
    off, length = spans[len(spans) // 2]  # a row in the middle of the table
    row = siard.read_bytes()[base + off : base + off + length]
    digit = base + off + row.index(b"<c1>") + 4  # first digit of the message id

    def damaged(byte: bytes) -> list[str]:
        copy = tmp_path / f"damaged-{byte.decode()}.siard"
        shutil.copyfile(siard, copy)
        with open(copy, "r+b") as f:
            f.seek(digit)
            old = f.read(1)
            f.seek(digit)
            f.write(byte if byte != old else b"8")
        return verify_siard(copy, expected)

    changed = damaged(b"9")  # still a valid integer: only the digest can tell
    assert len(changed) == 1 and changed[0].startswith("message: source"), changed
    invalid = damaged(b"x")  # not an integer: the table schema rejects it
    assert len(invalid) == 1 and "not valid against" in invalid[0], invalid
    assert invalid[0].startswith("message: ")
