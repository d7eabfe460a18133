"""The C path of archiving (``tasks/archive/_siardc.c``): PostgreSQL COPY text → SIARD row XML
+ row hashes, and the re-read of the row XML → row hashes. It must give exactly what the SQL and
lxml paths give, byte for byte and digest for digest, including for the nastiest values."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from tasks.archive import reread
from tasks.archive.digest import TableDigest
from tasks.archive.escaping import encode_text
from tasks.archive.reader import ArchivedColumn, ArchivedTable, SiardArchive, find_siard
from tasks.archive.run import archive_database
from tasks.archive.types import Kind
from tests.archive_helpers import ARCHIVAL_DATE, source_rows

siardc = pytest.importorskip("tasks.archive._siardc", reason="C module not built")
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("impl", ["default", "portable"])
def test_sha256_equals_hashlib_for_every_length_around_block_edges(impl: str) -> None:
    """One message, and two side by side (how the row digests are taken), on the SHA
    extensions and on the portable code."""
    code = (
        "import hashlib, os\n"
        "from tasks.archive import _siardc as m\n"
        "lengths = [*range(0, 200), 1000, 4095, 4096, 65536, 1 << 20]\n"
        "for n in lengths:\n"
        "    d = os.urandom(n)\n"
        "    assert m.sha256(d) == hashlib.sha256(d).digest(), n\n"
        "# two rows side by side (the row digests): every pair of lengths around the edges\n"
        "for n in lengths[:140:3] + lengths[-5:]:\n"
        "    for k in lengths[:140:5] + lengths[-5:]:\n"
        "        a, b = os.urandom(n), os.urandom(k)\n"
        "        want = (hashlib.sha256(a).digest(), hashlib.sha256(b).digest())\n"
        "        assert m.sha256_pair(a, b) == want, (n, k)\n"
        "print(m.SHA256_IMPL)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if impl == "portable":
        env["SAMSA_DECOM_NO_SHANI"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    if impl == "portable":
        assert out.stdout.strip() == "portable"


NASTY_TEXTS = [
    "",
    " ",
    "  leading and trailing  ",
    "a  b   c",
    "tab\there, LF\nthere, CR\rand CRLF\r\n",
    "backslash \\ and a literal \\u0041 that is not an escape",
    "control \x01\x08\x0b\x0c\x1f DEL\x7f C1 \x80\x85\x9f",
    "non-characters \ufffe\uffff, BMP end \ufffd, astral 😀 \U0010fffd",
    "markup <row> & </c1> &amp; ]]> \"quotes' ",
    "Västra Götaland – åäö ÅÄÖ é",
]


def _nasty_table(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(
            text(
                "CREATE TABLE nasty (id integer PRIMARY KEY, t varchar(400), body text NOT NULL, "
                "n numeric(12, 3), big bigint, ok boolean, d date, ts timestamptz, "
                "naive timestamp, bin bytea)"
            )
        )
        rows = []
        for i, s in enumerate(NASTY_TEXTS * 3):
            rows.append(
                {
                    "id": i + 1,
                    "t": None if i % 7 == 3 else s,
                    "body": (s * 40 if i % 5 == 0 else s),  # some beyond the LOB limit below
                    "n": Decimal("-12345.670") if i % 2 else Decimal("0.500"),
                    "big": -(2**62) + i,
                    "ok": None if i % 4 == 0 else bool(i % 3),
                    "d": None if i % 6 == 0 else f"00{99 + i % 3}-01-0{1 + i % 9}",
                    "ts": f"2024-02-29 23:59:{i % 60:02d}.{'000000' if i % 3 else '120000'}+00",
                    "naive": f"1999-12-31 23:59:59.{i:06d}",
                    "bin": bytes(range(256))[: (i * 37) % 300] if i % 5 else b"",
                }
            )
        c.execute(
            text("INSERT INTO nasty VALUES (:id, :t, :body, :n, :big, :ok, :d, :ts, :naive, :bin)"),
            rows,
        )
    eng.dispose()


def _archive(
    url: str, out: Path, c_path: bool, monkeypatch: pytest.MonkeyPatch, psql: bool = True
) -> Path:
    monkeypatch.setenv("SAMSA_DECOM_ARCHIVE_C", "1" if c_path else "0")
    monkeypatch.setenv("SAMSA_DECOM_ARCHIVE_PSQL", "1" if psql else "0")
    monkeypatch.setenv("SAMSA_DECOM_ARCHIVE_PSQL_MIN_ROWS", "0")  # psql even for small tables
    outcome = archive_database(url, out, archival_date=ARCHIVAL_DATE, lob_limit=200)
    assert outcome.verified, outcome.problems
    return find_siard(outcome.package)


@pytest.mark.postgres
@pytest.mark.parametrize("psql", [True, False], ids=["rows-via-psql", "rows-via-psycopg"])
def test_c_and_sql_paths_write_the_same_bytes_and_read_back_the_source(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psql: bool
) -> None:
    if psql:
        assert shutil.which("psql"), "psql (PostgreSQL's client) should be on this machine"
    _nasty_table(pg_url)
    by_c = _archive(pg_url, tmp_path / "c", True, monkeypatch, psql=psql)
    by_sql = _archive(pg_url, tmp_path / "sql", False, monkeypatch)
    assert by_c.read_bytes() == by_sql.read_bytes()
    with SiardArchive(by_c) as archive:
        back = list(archive.rows("nasty"))
        files = [n for n in archive._zip.namelist() if "/lob" in n and not n.endswith("/")]
    assert back == source_rows_nasty(pg_url)
    assert files, "the long texts should be stored as LOB files"


def source_rows_nasty(url: str) -> list[tuple[object, ...]]:
    from sqlalchemy import MetaData, Table, select

    eng = create_engine(url)
    table = Table("nasty", MetaData(), autoload_with=eng)
    with eng.connect() as c:
        rows = c.execute(select(table).order_by(table.c.id)).all()
    eng.dispose()
    from tests.archive_helpers import _norm

    return [tuple(_norm(v) for v in r) for r in rows]


@pytest.mark.postgres
def test_a_failing_psql_falls_back_to_psycopg_with_a_warning_and_the_same_bytes(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A psql that cannot connect (here: one that always fails) must not cost the archive."""
    _nasty_table(pg_url)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "psql").write_text("#!/bin/sh\necho 'psql: error: connection refused' >&2\nexit 2\n")
    (fake / "psql").chmod(0o755)
    reference = _archive(pg_url, tmp_path / "ref", True, monkeypatch, psql=False)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    with caplog.at_level(logging.WARNING, logger="tasks.archive.postgres.c_path"):
        fell_back = _archive(pg_url, tmp_path / "fallback", True, monkeypatch, psql=True)
    assert fell_back.read_bytes() == reference.read_bytes()
    assert any("connection refused" in r.getMessage() for r in caplog.records)


@pytest.mark.postgres
def test_a_value_the_c_path_does_not_handle_falls_back_and_is_named(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NaN numeric: the C converter refuses it, the table goes through the SQL path, and the
    re-read names the cell the table schema (xs:decimal) does not accept."""
    eng = create_engine(pg_url)
    with eng.begin() as c:
        c.execute(text("CREATE TABLE odd (id integer PRIMARY KEY, n numeric)"))
        c.execute(text("INSERT INTO odd VALUES (1, 1.5), (2, 'NaN'), (3, -2)"))
    eng.dispose()
    monkeypatch.setenv("SAMSA_DECOM_ARCHIVE_C", "1")
    outcome = archive_database(pg_url, tmp_path / "out", archival_date=ARCHIVAL_DATE)
    assert not outcome.verified
    assert any("odd" in p and "xsd" in p for p in outcome.problems), outcome.problems


@pytest.mark.postgres
def test_the_demo_database_gives_identical_packages_on_both_paths(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.synthetic import generate

    generate(pg_url, scale=3000, seed=11)
    by_c = _archive(pg_url, tmp_path / "c", True, monkeypatch)
    by_sql = _archive(pg_url, tmp_path / "sql", False, monkeypatch)
    assert (
        hashlib.sha256(by_c.read_bytes()).digest() == hashlib.sha256(by_sql.read_bytes()).digest()
    )
    with SiardArchive(by_c) as archive:
        assert list(archive.rows("message")) == source_rows(pg_url, "message")


@pytest.mark.postgres
def test_only_tables_of_at_least_the_threshold_start_psql_and_the_bytes_stay_the_same(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting psql costs about 25 ms a table: tables with fewer rows than the threshold (the
    catalogue's count) are read through psycopg, the others through psql; same .siard."""
    from tasks.archive.postgres import c_path
    from tasks.synthetic import generate

    generate(pg_url, scale=3000, seed=11)
    everywhere = _archive(pg_url, tmp_path / "all", True, monkeypatch)  # threshold 0
    started: list[str] = []
    real = c_path.batches_psql

    def counting(raw: object, sql: str) -> object:
        table = sql.split(" FROM ")[-1].split(" ORDER BY ")[0]
        started.append(table.split(".")[-1].strip('"'))
        return real(raw, sql)

    monkeypatch.setattr(c_path, "batches_psql", counting)
    monkeypatch.setenv("SAMSA_DECOM_ARCHIVE_PSQL_MIN_ROWS", "1000")
    some = tmp_path / "some"
    outcome = archive_database(pg_url, some, archival_date=ARCHIVAL_DATE, lob_limit=200)
    assert outcome.verified, outcome.problems
    big = sorted(t.name for t in outcome.tables if t.rows >= 1000)
    assert big and sorted(started) == big
    assert len(started) < len(outcome.tables)
    assert find_siard(outcome.package).read_bytes() == everywhere.read_bytes()


# -- the re-read decoder against lxml ---------------------------------------------------------

_TABLE = ArchivedTable(
    schema="s", schema_folder="schema0", name="t", folder="table0", rows=0, description="",
    columns=(
        ArchivedColumn("a", "CLOB", None, True, Kind.clob),
        ArchivedColumn("b", "INTEGER", None, False, Kind.integer),
        ArchivedColumn("c", "VARCHAR(50)", None, True, Kind.string),
        ArchivedColumn("d", "VARBINARY(9)", None, True, Kind.binary),
    ),
)  # fmt: skip
_KINDS = bytes(reread._C_READ_KIND[c.kind] for c in _TABLE.columns)
_NULLABLE = bytes(1 if c.nullable else 0 for c in _TABLE.columns)
_HEAD = b'<table xmlns="http://www.bar.admin.ch/xmlns/siard/2/table.xsd">\n'

# raw XML fragments for a text cell: entities, references, line ends, escapes, multi-byte
_FRAGMENTS = [
    "a", " ", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#10;", "&#x9;", "&#x1F600;",
    "\r\n", "\r", "\n", "\t", "\\u005C", "\\u0041", "\\uFFFE", "\\x", "\\", "ö", "😀", ">",
]  # fmt: skip


def _lxml_digest(doc: bytes) -> tuple[int, int]:
    archive = SiardArchive.__new__(SiardArchive)  # no file needed: digest_document only
    return archive.digest_document(_TABLE, doc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.none() | st.lists(st.sampled_from(_FRAGMENTS), max_size=8).map("".join),
            st.integers(-(2**70), 2**70),
            st.none() | st.text(max_size=20).filter(lambda s: "\x00" not in s),
            st.none() | st.binary(max_size=9),
        ),
        max_size=6,
    )
)
def test_the_c_reread_decodes_like_lxml(rows: list[tuple]) -> None:
    lines = []
    for a, b, c, d in rows:
        cells = []
        if a is not None:
            cells.append(f"<c1>{a}</c1>")
        cells.append(f"<c2>{b}</c2>")
        if c is not None:
            cells.append(f"<c3>{encode_text(c)}</c3>")
        if d is not None:
            cells.append(f"<c4>{d.hex()}</c4>")  # lower case: the canonical form is upper
        lines.append("<row>" + "".join(cells) + "</row>\n")
    body = "".join(lines).encode()
    status, n, digest_sum, _at = siardc.digest_rows(body, _KINDS, _NULLABLE)
    assert status == 0
    assert (n, int.from_bytes(digest_sum, "big")) == _mod(
        _lxml_digest(_HEAD + body + b"</table>\n")
    )


def _mod(found: tuple[int, int]) -> tuple[int, int]:
    return found[0], found[1] % (1 << 256)


def test_the_c_reread_digest_equals_the_source_digest_of_the_values() -> None:
    values = [("x\r\ny", 1, "  two  spaces ", b"\x00\xff"), (None, -5, None, None)]
    d = TableDigest()
    d.add(["x\ny", "1", "  two  spaces ", "00FF"])  # CRLF in XML text is read as LF
    d.add([None, "-5", None, None])
    body = b"".join(
        (
            b"<row><c1>x\r\ny</c1><c2>1</c2><c3>" + encode_text(values[0][2]).encode()
            + b"</c3><c4>00ff</c4></row>\n"
        ,
            b"<row><c2>-5</c2></row>\n",
        )
    )  # fmt: skip
    status, n, digest_sum, _at = siardc.digest_rows(body, _KINDS, _NULLABLE)
    assert (status, n, f"{int.from_bytes(digest_sum, 'big'):064x}") == (0, 2, d.hexdigest)


@pytest.mark.parametrize(
    "row, why",
    [
        (b"<row><c1>a &foo; b</c1><c2>1</c2></row>", "an entity no DTD defines"),
        (b"<row><c1>a & b</c1><c2>1</c2></row>", "a bare ampersand"),
        (b"<row><c1>\xff</c1><c2>1</c2></row>", "bytes that are not UTF-8"),
        (b"<row><c1>]]></c1><c2>1</c2></row>", "']]>' in character data"),
        (b"<row><c1>&#1;</c1><c2>1</c2></row>", "a reference to a character XML forbids"),
        (b"<row><c1>a</c1></row>", "a NOT NULL cell missing"),
        (b"<row><c2>1</c2><c1>a</c1></row>", "cells out of column order"),
        (b"<row><c2>1.5</c2></row>", "not an integer"),
        (b"<row><c2>1</c2><c4>ABC</c4></row>", "odd-length hex"),
        (b"<row><c2>1</c2></ro>", "a wrong end tag"),
        (b"<row><!-- x --><c2>1</c2></row>", "a comment (left to lxml)"),
        (b'<row><c2>1</c2><c4 file="content/x.bin"/></row>', "a LOB file with no loader"),
    ],
)
def test_the_c_reread_hands_anything_else_to_the_general_path(row: bytes, why: str) -> None:
    """Status 1 or 2 sends the chunk to lxml + the table schema, which names the problem
    (see test_archive_reread.py for that message)."""
    status, _n, _s, _at = siardc.digest_rows(row + b"\n", _KINDS, _NULLABLE)
    assert status in (1, 2), why


def test_binary_cells_are_upper_case_hex_at_every_length_and_bad_hex_is_refused() -> None:
    """The converter's hex loop works 16 characters at a time: every length around that edge,
    lower- and upper-case input, gives the value's upper-case hex (and, stored as a LOB file,
    the raw bytes); a character that is not hex anywhere in the value is refused (the table
    then takes the SQL path), never written."""
    import random

    rnd = random.Random(17)
    for n in range(0, 70):
        raw = bytes(rnd.randrange(256) for _ in range(n))
        for hexed in (raw.hex(), raw.hex().upper()):
            line = b"\\\\x" + hexed.encode() + b"\n"
            xml, _sum, rows, lobs = siardc.copy_to_siard([line], bytes([4]), 1 << 20, (None,), 0)
            assert rows == 1 and lobs == []
            assert xml == f"<row><c1>{raw.hex().upper()}</c1></row>\n".encode(), n
            # over the LOB limit: the file holds the raw bytes, the cell refers to it
            xml, _sum, rows, lobs = siardc.copy_to_siard(
                [line], bytes([5]), 0, (b"content/schema0/table0/lob0/record",), 0
            )
            assert lobs == ([(0, 0, raw)] if n else []), n
        if n:
            for at in {0, n - 1, n, 2 * n - 1}:
                bad = bytearray(raw.hex().encode())
                bad[at] = ord("g")
                with pytest.raises(ValueError):
                    siardc.copy_to_siard([b"\\\\x" + bytes(bad) + b"\n"], bytes([4]), 1 << 20,
                                         (None,), 0)  # fmt: skip


def test_psql_is_started_without_debians_wrapper_and_is_a_real_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """postgresql-common's pg_wrapper (a Perl script) costs most of a psql start: the client it
    would choose is started directly; a psql that is not the wrapper is used as it is."""
    from tasks.archive.postgres.copy_stream import psql_program

    chosen = psql_program()
    assert chosen is not None
    assert Path(chosen).name == "psql"
    assert Path(os.path.realpath(chosen)).name != "pg_wrapper"
    version = subprocess.run([chosen, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("psql (PostgreSQL)")
    # a psql of one's own on the PATH (not the wrapper) is the one started
    own = tmp_path / "psql"
    own.write_text("#!/bin/sh\nexit 0\n")
    own.chmod(0o700)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert psql_program() == str(own)


def test_a_files_sha256_in_steps_without_the_gil_equals_hashlib(tmp_path: Path) -> None:
    """The .siard's SHA-256 is taken in steps while it grows, and verify's files whole: every
    length around the block and buffer edges, in random steps, and a file that ends early."""
    import random

    rng = random.Random(7)
    for n in [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, (1 << 20) - 1, 1 << 20, (1 << 20) + 65]:
        data = os.urandom(n)
        path = tmp_path / f"f{n}"
        path.write_bytes(data)
        with open(path, "rb", buffering=0) as f:
            whole = siardc.sha256_digest(siardc.sha256_fd(None, f.fileno(), -1))
            f.seek(0)
            state, done = siardc.sha256_fd(None, f.fileno(), 0), 0
            while done < n:
                step = min(n - done, rng.randint(1, max(1, n // 3)))
                state, done = siardc.sha256_fd(state, f.fileno(), step), done + step
            f.seek(0)
            with pytest.raises(EOFError):
                siardc.sha256_fd(None, f.fileno(), n + 1)
        assert whole == siardc.sha256_digest(state) == hashlib.sha256(data).digest(), n
    with pytest.raises(ValueError, match="not a SHA-256 state"):
        siardc.sha256_digest(b"forged state")

