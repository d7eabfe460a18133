# ruff: noqa: E501  (XML and SQL templates read better unwrapped)
"""The SQL path of the PostgreSQL fast path: the server writes the SIARD row XML itself.

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

The quoting helpers (:func:`ident`, :func:`value_sql`, :func:`table_sql`) are shared with
:mod:`tasks.archive.postgres.c_path`, which asks the server for the same values as plain COPY.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from tasks.archive.digest import TableDigest
from tasks.archive.postgres.copy_stream import BATCH_BYTES
from tasks.archive.schema import ColumnSpec, TableSpec
from tasks.archive.tablexsd import TABLE_XML_TAIL, table_xml_head
from tasks.archive.types import Kind
from tasks.archive.writer import (
    LOB_INLINE_LIMIT,
    TableResult,
    finish_table_folder,
    start_table_folder,
)

_CONTROLS = [chr(c) for c in (*range(0x01, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))]
_CONTROLS += ["\ufffe", "\uffff"]


def _lit(s: str) -> str:
    if "\x00" in s:
        raise ValueError("NUL in SQL literal")
    return "'" + s.replace("'", "''") + "'"


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def value_sql(c: ColumnSpec) -> str:
    """The SQL for a column's value as archived (its text form, or money as numeric)."""
    x = ident(c.name)
    if c.read_as == "text":  # the type's output function, as COPY writes it (not a cast:
        # text(inet) adds the netmask) -- the same expression as the generic path's
        return f"(CASE WHEN {x} IS NULL THEN NULL ELSE format('%s', {x}) END)"
    if c.read_as == "numeric":
        return f"({x})::numeric"
    return x


def table_sql(spec: TableSpec, schema_arg: str | None) -> str:
    """The table, schema-qualified when ``schema_arg`` is given, as SQL."""
    return (f"{ident(schema_arg)}." if schema_arg else "") + ident(spec.name)


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
        col = value_sql(c)
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
        col = value_sql(c)
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
    order = ", ".join(ident(n) for n in spec.order_by)
    source = table_sql(spec, schema_arg)
    if _has_lobs(spec):
        source = f"(SELECT *, row_number() OVER (ORDER BY {order}) AS rn FROM {source}) AS t"
    digest = f", encode(sha256({_canonical(spec)}), 'hex')" if with_digest else ""
    return (
        f"SELECT concat('<row>', {', '.join(cells)}, '</row>'){digest} FROM {source} "
        f"ORDER BY {order}"
    )


def canonical_copy_sql(spec: TableSpec, schema_arg: str | None) -> str:
    return f"COPY (SELECT {_canonical(spec)} FROM {table_sql(spec, schema_arg)}) TO STDOUT (FORMAT binary)"


def digest_table_sql(conn: Connection, spec: TableSpec, schema_arg: str | None) -> tuple[int, str]:
    """Row count and ``sha256-rowsum-v1`` digest: the server builds each canonical row, Python
    hashes it (hashlib is faster than the server's sha256() here) and sums."""
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
                if size >= BATCH_BYTES:
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
    order = ", ".join(ident(n) for n in spec.order_by)
    for i, c in enumerate(spec.columns):
        if not c.kind.is_lob:
            continue
        col = value_sql(c)
        sql = (
            f"SELECT rn - 1, v FROM (SELECT row_number() OVER (ORDER BY {order}) AS rn, {col} AS v "
            f"FROM {table_sql(spec, schema_arg)}) t WHERE length(v) > {int(limit)} ORDER BY rn"
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
