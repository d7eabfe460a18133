# ruff: noqa: E501  (XML and SQL templates read better unwrapped)
"""The PostgreSQL fast path: the server writes the SIARD row XML itself.

``COPY (SELECT <row xml> FROM t ORDER BY pk) TO STDOUT`` streams finished ``<row>…</row>``
lines that Python writes to the table file block by block, without touching single values.
The SQL reproduces the SIARD rules of :mod:`tasks.archive.escaping` and the lexical forms of
:mod:`tasks.archive.types` exactly (timestamps in UTC with ``Z``, ``\\u00XX`` escapes for
control characters, backslash and runs of spaces, upper-case hex for binaries), with one
difference in form only: LF and TAB in text are written as the character references
``&#10;`` and ``&#9;`` (so every row is one line of the COPY stream); an XML parser reads them
back as LF and TAB, so the values are the same.

The content digest (``sha256-rowsum-v1``) comes from the same stream: next to each row's XML the
server returns the SHA-256 of the row's canonical bytes, built from the column values (not from
the XML), and Python adds them up. The re-read parses the written XML back to values on its own
and must arrive at the same sum, so a wrong escape or type mapping shows as a mismatch.

Large objects above the inline limit are written by the server as file references (with
length and SHA-256) and their content fetched in a second, small query.

Faster still, when the C module :mod:`tasks.archive._siardc` is built (``pip install`` builds it
where a C compiler is present): the server sends plain ``COPY … TO STDOUT`` text, the cheapest
thing it can do (what ``pg_dump`` does), and C code turns each row into the same row XML and the
same canonical-row hash, in a second thread while the next rows arrive. The bytes written are
the same as the SQL path's; a value outside what the C code handles (a year after 9999, a
``NaN`` numeric …) makes that table fall back to the SQL path. ``SAMSA_DECOM_ARCHIVE_C=0``
turns the C path off.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection

from tasks.archive.digest import TableDigest
from tasks.archive.schema import ColumnSpec, TableSpec
from tasks.archive.tablexsd import TABLE_XML_TAIL, table_xml_head
from tasks.archive.types import Kind
from tasks.archive.writer import (
    LOB_INLINE_LIMIT,
    TableResult,
    finish_table_folder,
    start_table_folder,
)

try:
    from tasks.archive import _siardc
except ImportError:  # built by pip install where a C compiler is present
    _siardc = None  # type: ignore[assignment]

FAST_KINDS = {
    Kind.integer, Kind.decimal, Kind.boolean, Kind.string, Kind.clob,
    Kind.binary, Kind.blob, Kind.date, Kind.timestamp,
}  # fmt: skip

_CONTROLS = [chr(c) for c in (*range(0x01, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))]
_CONTROLS += ["\ufffe", "\uffff"]
_BATCH_BYTES = 1 << 20  # write to the file about every MB


def c_path_enabled() -> bool:
    """Whether the C row converter is built and not switched off (``SAMSA_DECOM_ARCHIVE_C=0``)."""
    return _siardc is not None and os.environ.get("SAMSA_DECOM_ARCHIVE_C", "1") != "0"


def supports(conn: Connection, spec: TableSpec) -> bool:
    """Whether the fast path can write this table exactly."""
    return conn.dialect.name == "postgresql" and all(
        c.kind in FAST_KINDS and c.cardinality is None and c.read_as in ("", "text", "numeric")
        for c in spec.columns
    )


def _lit(s: str) -> str:
    if "\x00" in s:
        raise ValueError("NUL in SQL literal")
    return "'" + s.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _col(c: ColumnSpec) -> str:
    """The SQL for a column's value as archived (its text form, or money as numeric)."""
    x = _ident(c.name)
    if c.read_as == "text":  # the type's output function, as COPY writes it (not a cast:
        # text(inet) adds the netmask) -- the same expression as the generic path's
        return f"(CASE WHEN {x} IS NULL THEN NULL ELSE format('%s', {x}) END)"
    if c.read_as == "numeric":
        return f"({x})::numeric"
    return x


def _table(spec: TableSpec, schema_arg: str | None) -> str:
    return (f"{_ident(schema_arg)}." if schema_arg else "") + _ident(spec.name)


_GUARD = "[" + "".join(_CONTROLS[:-2]) + "\t\n\\\\&<>\ufffe\uffff]|^ | $|  "


def _escaped_text(col: str) -> str:
    """SQL for the cell content of a text column (SIARD + XML escaping, LF/TAB as refs)."""
    x = f"replace({col}, '\\', '\\u005C')"
    for ch in _CONTROLS:
        escape = f"\\u{ord(ch):04X}"
        x = f"replace({x}, {_lit(ch)}, {_lit(escape)})"
    x = f"regexp_replace({x}, '(?<= ) ', '\\\\u0020', 'g')"
    x = f"regexp_replace({x}, '^ ', '\\\\u0020')"
    x = f"regexp_replace({x}, ' $', '\\\\u0020')"
    x = f"replace(replace(replace({x}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
    x = f"replace(replace({x}, chr(10), '&#10;'), chr(9), '&#9;')"
    return f"(CASE WHEN {col} ~ {_lit(_GUARD)} THEN {x} ELSE {col} END)"


def _lexical(kind: Kind, col: str, tz: bool) -> str:
    """SQL for the SIARD lexical value of a non-text column (as :data:`types.LEXICAL`)."""
    if kind is Kind.integer or kind is Kind.decimal:
        return f"({col})::text"
    if kind is Kind.boolean:
        return f"(CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END)"  # NULL stays NULL
    if kind in (Kind.binary, Kind.blob):
        return f"upper(encode({col}, 'hex'))"
    if kind is Kind.date:
        return f"to_char({col}, 'YYYY-MM-DD')"
    if kind is Kind.timestamp:
        v = f"({col} AT TIME ZONE 'UTC')" if tz else col
        # one to_char call (it is the costly part), then drop a zero fraction
        return f"replace(to_char({v}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"
    raise ValueError(f"no fast path for {kind}")


def _canonical(spec: TableSpec) -> str:
    """SQL bytea of the canonical row (cells joined by 0xFE, NULL = 0xFF)."""
    parts = []
    for c in spec.columns:
        col = _col(c)
        lex = (
            col
            if c.kind in (Kind.string, Kind.clob)
            else _lexical(c.kind, col, "ZONE" in c.sql_type)
        )
        parts.append(f"coalesce(convert_to({lex}, 'UTF8'), '\\xff'::bytea)")
    return " || '\\xfe'::bytea || ".join(parts)


def _has_lobs(spec: TableSpec) -> bool:
    return any(c.kind.is_lob for c in spec.columns)


def row_xml_sql(
    spec: TableSpec,
    schema_arg: str | None,
    lob_limit: int,
    schema_folder: str = "schema0",
    *,
    with_digest: bool = False,
) -> str:
    """SQL giving each row's ``<row>…</row>`` in primary-key order; ``with_digest`` adds a
    second column, the hex SHA-256 of the row's canonical bytes (see :func:`_canonical`)."""
    cells = []
    for i, c in enumerate(spec.columns):
        col = _col(c)
        n = i + 1
        if c.kind in (Kind.string, Kind.clob):
            inline = f"'<c{n}>' || {_escaped_text(col)} || '</c{n}>'"
        else:
            inline = f"'<c{n}>' || {_lexical(c.kind, col, 'ZONE' in c.sql_type)} || '</c{n}>'"
        if c.kind.is_lob:
            ext = "bin" if c.kind.is_binary else "txt"
            digest = (
                f"upper(encode(sha256({col}), 'hex'))"
                if c.kind.is_binary
                else f"upper(encode(sha256(convert_to({col}, 'UTF8')), 'hex'))"
            )
            ref = (
                f"'<c{n} file=\"content/{schema_folder}/{spec.folder}/lob{i}/record' || (rn - 1) || "
                f'\'.{ext}" length="\' || length({col}) || \'" digestType="SHA-256" digest="\' || '
                f"{digest} || '\"/>'"
            )
            cells.append(
                f"(CASE WHEN length({col}) > {int(lob_limit)} THEN {ref} ELSE {inline} END)"
            )
        else:
            cells.append(inline)
    order = ", ".join(_ident(n) for n in spec.order_by)
    source = _table(spec, schema_arg)
    if _has_lobs(spec):
        source = f"(SELECT *, row_number() OVER (ORDER BY {order}) AS rn FROM {source}) AS t"
    digest = f", encode(sha256({_canonical(spec)}), 'hex')" if with_digest else ""
    return (
        f"SELECT concat('<row>', {', '.join(cells)}, '</row>'){digest} FROM {source} "
        f"ORDER BY {order}"
    )


def canonical_copy_sql(spec: TableSpec, schema_arg: str | None) -> str:
    return f"COPY (SELECT {_canonical(spec)} FROM {_table(spec, schema_arg)}) TO STDOUT (FORMAT binary)"


def digest_table_pg(conn: Connection, spec: TableSpec, schema_arg: str | None) -> tuple[int, str]:
    """Row count and ``sha256-rowsum-v1`` digest: the server builds each canonical row, Python
    hashes it (hashlib is faster than the server's sha256() here) and sums; with the C module,
    from a plain COPY as when writing."""
    if c_path_enabled():
        found = _digest_table_c(conn, spec, schema_arg)
        if found is not None:
            return found
    digest = TableDigest()
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(canonical_copy_sql(spec, schema_arg)) as copy:  # type: ignore[union-attr]
        for row in _binary_rows(copy):
            digest.add_bytes(row)
    return digest.rows, digest.hexdigest


def _binary_rows(blocks: Any) -> Any:
    """The single bytea field of each tuple of a binary COPY stream."""
    buf = b""
    pos = 0
    header = False
    unpack = struct.unpack_from
    for block in blocks:
        buf = buf[pos:] + bytes(block)
        pos = 0
        n = len(buf)
        if not header:
            if n < 19:  # signature (11) + flags (4) + header extension length (4)
                continue
            pos = 19 + unpack(">i", buf, 15)[0]
            header = True
        while pos + 2 <= n:
            (fields,) = unpack(">h", buf, pos)
            if fields == -1:  # trailer; let the COPY stream run to its end
                pos = n
                break
            if pos + 6 > n:
                break
            (length,) = unpack(">i", buf, pos + 2)
            if pos + 6 + length > n:
                break
            yield buf[pos + 6 : pos + 6 + length]
            pos += 6 + length


def write_table_pg(
    conn: Connection,
    spec: TableSpec,
    schema_arg: str | None,
    dest: Path,
    *,
    schema_folder: str = "schema0",
    lob_limit: int = LOB_INLINE_LIMIT,
    progress: Callable[[int], None] | None = None,
) -> TableResult:
    """Write ``spec``'s table into ``dest`` (atomically, like
    :func:`tasks.archive.writer.write_table`): through the C converter when it is built, else
    (or for a value it does not handle) through the server-side XML."""
    if c_path_enabled():
        res = _write_table_c(conn, spec, schema_arg, dest, schema_folder, lob_limit, progress)
        if res is not None:
            return res
    return write_table_sql(
        conn, spec, schema_arg, dest, schema_folder=schema_folder, lob_limit=lob_limit,
        progress=progress,
    )  # fmt: skip


def write_table_sql(
    conn: Connection,
    spec: TableSpec,
    schema_arg: str | None,
    dest: Path,
    *,
    schema_folder: str = "schema0",
    lob_limit: int = LOB_INLINE_LIMIT,
    progress: Callable[[int], None] | None = None,
) -> TableResult:
    """Write ``spec``'s table through the server-side XML stream (atomically)."""
    t0 = time.perf_counter()
    part = start_table_folder(dest, spec)
    raw = conn.connection.driver_connection
    rows = 0
    total = 0  # sum of the row hashes (sha256-rowsum-v1), reduced modulo 2**256 at the end
    sql = row_xml_sql(spec, schema_arg, lob_limit, schema_folder, with_digest=True)
    copy_sql = (
        f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02', "
        "ESCAPE E'\\x02')"
    )
    with open(part / f"{spec.folder}.xml", "wb", buffering=1 << 20) as out:
        out.write(table_xml_head(spec))
        with raw.cursor() as cur, cur.copy(copy_sql) as copy:  # type: ignore[union-attr]
            # each COPY message is one line: b"<row>…</row>\x01<64 hex digits>\n"
            batch: list[bytes] = []
            size = 0
            last = 0
            for block in copy:
                line = bytes(block)
                if line[-66:-65] != b"\x01":
                    raise RuntimeError(f"{spec.name}: unexpected COPY line after row {rows}")
                batch.append(line[:-66])
                total += int(line[-65:-1], 16)
                size += len(line)
                if size >= _BATCH_BYTES:
                    rows += len(batch)
                    batch.append(b"")
                    out.write(b"\n".join(batch))
                    batch.clear()
                    size = 0
                    if progress and rows - last >= 50_000:
                        progress(rows)
                        last = rows
            if batch:
                rows += len(batch)
                batch.append(b"")
                out.write(b"\n".join(batch))
        out.write(TABLE_XML_TAIL)
        xml_bytes = out.tell()
    lob_files = _write_lobs(raw, spec, schema_arg, part, lob_limit)
    result = TableDigest()
    result.rows, result._sum = rows, total
    digest = result.hexdigest
    if progress:
        progress(rows)
    res = TableResult(
        folder=spec.folder, name=spec.name, rows=rows, digest=digest, xml_bytes=xml_bytes,
        lob_files=lob_files, seconds=round(time.perf_counter() - t0, 3),
    )  # fmt: skip
    return finish_table_folder(part, dest, res)


def _write_lobs(raw: Any, spec: TableSpec, schema_arg: str | None, part: Path, limit: int) -> int:
    written = 0
    order = ", ".join(_ident(n) for n in spec.order_by)
    for i, c in enumerate(spec.columns):
        if not c.kind.is_lob:
            continue
        col = _col(c)
        sql = (
            f"SELECT rn - 1, v FROM (SELECT row_number() OVER (ORDER BY {order}) AS rn, {col} AS v "
            f"FROM {_table(spec, schema_arg)}) t WHERE length(v) > {int(limit)} ORDER BY rn"
        )
        ext = "bin" if c.kind.is_binary else "txt"
        # a server-side cursor: large objects stream in small batches instead of all at once
        with raw.cursor(name=f"samsa_lobs_{i}") as cur:
            cur.itersize = 16
            cur.execute(sql)
            for rn, value in cur:
                folder = part / f"lob{i}"
                folder.mkdir(exist_ok=True)
                data = bytes(value) if c.kind.is_binary else value.encode("utf-8")
                (folder / f"record{rn}.{ext}").write_bytes(data)
                written += 1
    return written


# -- the C path ------------------------------------------------------------------------------

#: value kind → the converter's code (see ``enum W_…`` in ``_siardc.c``)
_C_KIND = {
    Kind.string: 0, Kind.clob: 1, Kind.integer: 2, Kind.decimal: 2, Kind.boolean: 3,
    Kind.binary: 4, Kind.blob: 5, Kind.date: 6,
}  # fmt: skip
_PENDING = 3  # batches converted ahead at most (bounds memory: a few MB)


class _Unhandled(Exception):
    """A value the C converter does not handle: the table goes through the SQL path."""


def _c_kinds(spec: TableSpec) -> bytes:
    codes = []
    for c in spec.columns:
        if c.kind is Kind.timestamp:
            codes.append(7 if "ZONE" in c.sql_type else 8)
        else:
            codes.append(_C_KIND[c.kind])
    return bytes(codes)


def _plain_copy_sql(spec: TableSpec, schema_arg: str | None) -> str:
    # COPY writes each value by its type's output function: text forms need no expression
    cols = ", ".join(_ident(c.name) if c.read_as == "text" else _col(c) for c in spec.columns)
    order = ", ".join(_ident(n) for n in spec.order_by)
    return f"COPY (SELECT {cols} FROM {_table(spec, schema_arg)} ORDER BY {order}) TO STDOUT"


#: what the converter expects the server to send (set for the snapshot's transaction only)
_SESSION = (
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; "
    "SET LOCAL bytea_output = 'hex'; SET LOCAL client_encoding = 'UTF8'"
)


_log = logging.getLogger(__name__)
_PSQL_KEYWORDS = {
    "host", "hostaddr", "port", "dbname", "user", "passfile", "service", "connect_timeout",
    "options", "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "gssencmode",
    "krbsrvname", "target_session_attrs", "keepalives", "keepalives_idle",
}  # fmt: skip


class _PsqlFailed(Exception):
    """psql could not deliver the COPY stream: the table is read through psycopg instead."""


def _batches_psycopg(raw: Any, sql: str) -> Iterator[list[Any]]:
    """COPY through psycopg: one message a row, gathered into batches of about a MB."""
    with raw.cursor() as cur:
        cur.execute(_SESSION)
        with cur.copy(sql) as copy:
            batch: list[Any] = []
            size = 0
            for block in copy:
                batch.append(block)
                size += len(block)
                if size >= _BATCH_BYTES:
                    yield batch
                    batch, size = [], 0
            if batch:
                yield batch


def psql_available(raw: Any) -> bool:
    """psql can share this transaction's snapshot: it is on the PATH, not switched off
    (``SAMSA_DECOM_ARCHIVE_PSQL=0``), and the transaction is REPEATABLE READ or stricter."""
    if os.environ.get("SAMSA_DECOM_ARCHIVE_PSQL", "1") == "0" or not shutil.which("psql"):
        return False
    with raw.cursor() as cur:
        level = cur.execute("SHOW transaction_isolation").fetchone()[0]
    return str(level) in ("repeatable read", "serializable")


def _batches_psql(raw: Any, sql: str) -> Iterator[list[Any]]:
    """COPY through PostgreSQL's own client: ``psql`` imports this transaction's snapshot
    (``pg_export_snapshot``), so it sees exactly the same data, and writes the rows to a pipe
    that is read a MB at a time: the per-row protocol work runs in C, in another process."""
    with raw.cursor() as cur:
        snapshot = cur.execute("SELECT pg_export_snapshot()").fetchone()[0]
    env = {**os.environ, "PGAPPNAME": "samsa-decom archive"}
    if raw.info.password:
        env["PGPASSWORD"] = raw.info.password  # not on the command line
    # only long-known keywords: the psql here may be older than psycopg's own libpq
    params = {k: v for k, v in raw.info.get_parameters().items() if k in _PSQL_KEYWORDS}
    cmd = [
        "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", make_conninfo(**params),
        "-c", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "-c", f"SET TRANSACTION SNAPSHOT '{snapshot}'",
        "-c", _SESSION, "-c", sql, "-c", "COMMIT",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, bufsize=0)
        assert proc.stdout is not None
        try:
            fcntl.fcntl(proc.stdout.fileno(), 1031, _BATCH_BYTES)  # F_SETPIPE_SZ: fewer reads
        except OSError:
            pass
        carry = b""
        try:
            while block := proc.stdout.read(_BATCH_BYTES):
                data = carry + block if carry else block
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield [data[:cut]]
                carry = data[cut:]
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0 or carry:
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip().splitlines()
            raise _PsqlFailed(f"psql exited with {code}: {message[-1] if message else ''}")


def _stream_c(
    raw: Any,
    spec: TableSpec,
    schema_arg: str | None,
    lob_refs: tuple[bytes | None, ...],
    lob_limit: int,
    sink: Callable[[bytes], None] | None,
    progress: Callable[[int], None] | None = None,
    via_psql: bool = False,
    lob_sink: Callable[[int, int, bytes], None] | None = None,
) -> tuple[int, int]:
    """COPY the table as text and convert it batch by batch in a second thread (the C code
    releases the GIL); ``sink`` gets the row XML in order, ``lob_sink`` (column index, row
    index, content) of each value stored as a LOB file. Returns (rows, unreduced digest sum).
    Raises :class:`_Unhandled` after reading the stream to its end (so the transaction, and its
    snapshot, stay usable), and :class:`_PsqlFailed` when ``via_psql`` and psql failed."""
    kinds = _c_kinds(spec)
    state = {"rows": 0, "sum": 0}

    def convert(batch: list[Any]) -> None:
        xml, digest_sum, n, lobs = _siardc.copy_to_siard(
            batch, kinds, lob_limit, lob_refs, state["rows"]
        )
        if sink is not None:
            sink(xml)
        if lob_sink is not None:
            for col, row, content in lobs:
                lob_sink(col, row, content)
        state["rows"] += n
        state["sum"] += int.from_bytes(digest_sum, "big")

    failure: BaseException | None = None
    sql = _plain_copy_sql(spec, schema_arg)
    batches = _batches_psql(raw, sql) if via_psql else _batches_psycopg(raw, sql)
    with ThreadPoolExecutor(1, thread_name_prefix="siard-rows") as pool:
        pending: deque[Future[None]] = deque()
        last = 0
        for batch in batches:
            if failure is not None:
                continue  # drain the stream
            pending.append(pool.submit(convert, batch))
            while len(pending) > _PENDING or (pending and pending[0].done()):
                try:
                    pending.popleft().result()
                except ValueError as exc:
                    failure = exc
                    break
            if progress and state["rows"] - last >= 50_000:
                progress(state["rows"])
                last = state["rows"]
        for f in pending:
            try:
                f.result()
            except ValueError as exc:
                failure = failure or exc
    if failure is not None:
        raise _Unhandled(str(failure))
    return state["rows"], state["sum"]


def _write_table_c(
    conn: Connection,
    spec: TableSpec,
    schema_arg: str | None,
    dest: Path,
    schema_folder: str,
    lob_limit: int,
    progress: Callable[[int], None] | None,
) -> TableResult | None:
    """The table through plain COPY + the C converter; ``None`` if a value needs the SQL path."""
    t0 = time.perf_counter()
    part = start_table_folder(dest, spec)
    raw = conn.connection.driver_connection
    lob_refs = tuple(
        f"content/{schema_folder}/{spec.folder}/lob{i}/record".encode() if c.kind.is_lob else None
        for i, c in enumerate(spec.columns)
    )
    for via_psql in (True, False) if psql_available(raw) else (False,):
        lob_files = _LobFiles(part, spec)
        with open(part / f"{spec.folder}.xml", "wb", buffering=1 << 20) as out:
            xml = _CrcWriter(out)
            write = xml.write
            write(table_xml_head(spec))
            try:
                rows, total = _stream_c(
                    raw, spec, schema_arg, lob_refs, lob_limit, write, progress, via_psql,
                    lob_sink=lob_files.write,
                )  # fmt: skip
            except _PsqlFailed as exc:
                _log.warning("%s: %s; reading the table through psycopg instead", spec.name, exc)
                continue  # again, through psycopg
            except _Unhandled:
                out.close()
                shutil.rmtree(part, ignore_errors=True)
                return None
            write(TABLE_XML_TAIL)
            xml_bytes = out.tell()
            break
    result = TableDigest()
    result.rows, result._sum = rows, total
    if progress:
        progress(rows)
    res = TableResult(
        folder=spec.folder, name=spec.name, rows=rows, digest=result.hexdigest,
        xml_bytes=xml_bytes, lob_files=lob_files.count, seconds=round(time.perf_counter() - t0, 3),
        xml_crc32=xml.crc32,
    )  # fmt: skip
    return finish_table_folder(part, dest, res)


class _CrcWriter:
    """Writes to ``out`` and takes the CRC-32 the .siard's ZIP entry needs on the way (so the
    file is not read again for it)."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.crc32 = 0

    def write(self, data: bytes) -> None:
        self.crc32 = zlib.crc32(data, self.crc32)
        self.out.write(data)


class _LobFiles:
    """Writes the values the converter stored as LOB files (``lob<i>/record<n>.txt|bin``),
    the same files :func:`_write_lobs` fetches with a second query on the SQL path."""

    def __init__(self, part: Path, spec: TableSpec) -> None:
        self.part = part
        self.ext = ["bin" if c.kind.is_binary else "txt" for c in spec.columns]
        self.count = 0
        for old in part.glob("lob*"):  # a retry starts from nothing
            shutil.rmtree(old)

    def write(self, col: int, row: int, content: bytes) -> None:
        folder = self.part / f"lob{col}"
        folder.mkdir(exist_ok=True)
        (folder / f"record{row}.{self.ext[col]}").write_bytes(content)
        self.count += 1


def _digest_table_c(
    conn: Connection, spec: TableSpec, schema_arg: str | None
) -> tuple[int, str] | None:
    """Row count and digest from plain COPY through the C converter (its XML discarded)."""
    raw = conn.connection.driver_connection
    refs = tuple(b"" if c.kind.is_lob else None for c in spec.columns)
    for via_psql in (True, False) if psql_available(raw) else (False,):
        try:
            rows, total = _stream_c(
                raw, spec, schema_arg, refs, LOB_INLINE_LIMIT, None, None, via_psql
            )
            break
        except _PsqlFailed:
            continue
        except _Unhandled:
            return None
    d = TableDigest()
    d.rows, d._sum = rows, total
    return rows, d.hexdigest
