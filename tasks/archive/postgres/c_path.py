"""The C path of the PostgreSQL fast path: plain COPY text, converted by the C module.

When the C module :mod:`tasks.archive._siardc` is built (``pip install`` builds it where a C
compiler is present), the server sends plain ``COPY … TO STDOUT`` text, the cheapest thing it
can do (what ``pg_dump`` does; read as in :mod:`tasks.archive.postgres.copy_stream`), and C
code turns each row into the same row XML and the same canonical-row hash as
:mod:`tasks.archive.postgres.sql_path`, in a second thread while the next rows arrive. The bytes
written are the same as the SQL path's; a value outside what the C code handles (a year after
9999, a ``NaN`` numeric …) makes the functions here answer ``None`` and the table go through
the SQL path. ``SAMSA_DECOM_ARCHIVE_C=0`` turns the C path off.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from tasks.archive.container import TableEntry
from tasks.archive.digest import TableDigest
from tasks.archive.postgres.copy_stream import (
    PsqlFailed,
    batches_psql,
    batches_psycopg,
    psql_available,
)
from tasks.archive.postgres.sql_path import ident, table_sql, value_sql
from tasks.archive.schema import TableSpec
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

_log = logging.getLogger(__name__)


def c_path_enabled() -> bool:
    """Whether the C row converter is built and not switched off (``SAMSA_DECOM_ARCHIVE_C=0``)."""
    return _siardc is not None and os.environ.get("SAMSA_DECOM_ARCHIVE_C", "1") != "0"


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
    cols = ", ".join(ident(c.name) if c.read_as == "text" else value_sql(c) for c in spec.columns)
    order = ", ".join(ident(n) for n in spec.order_by)
    return f"COPY (SELECT {cols} FROM {table_sql(spec, schema_arg)} ORDER BY {order}) TO STDOUT"


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
    snapshot, stay usable), and :class:`PsqlFailed` when ``via_psql`` and psql failed."""
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
    batches = batches_psql(raw, sql) if via_psql else batches_psycopg(raw, sql)
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


def write_table_c(
    conn: Connection,
    spec: TableSpec,
    schema_arg: str | None,
    dest: Path,
    schema_folder: str,
    lob_limit: int,
    progress: Callable[[int], None] | None,
    into: Callable[[], TableEntry] | None = None,
    rows_hint: int | None = None,
) -> TableResult | None:
    """The table through plain COPY + the C converter; ``None`` if a value needs the SQL path.

    ``into``: starts the table's entry in the .siard being written, and the table file is
    written straight into it (:class:`~tasks.archive.container.TableEntry`, finished here,
    added with its schema and LOB files by ``SiardInProgress.add``); without it, into
    ``tableN.xml`` of the table folder. ``rows_hint``: the table's row count, if known (a small
    table is read through psycopg, see :func:`~.copy_stream.psql_available`)."""
    t0 = time.perf_counter()
    part = start_table_folder(dest, spec)
    raw = conn.connection.driver_connection
    lob_refs = tuple(
        f"content/{schema_folder}/{spec.folder}/lob{i}/record".encode() if c.kind.is_lob else None
        for i, c in enumerate(spec.columns)
    )
    xml: _CrcWriter | TableEntry
    if into is not None:
        xml = into()
    else:
        xml = _CrcWriter(open(part / f"{spec.folder}.xml", "wb", buffering=1 << 20))  # noqa: SIM115
    try:
        for via_psql in (True, False) if psql_available(raw, rows_hint) else (False,):
            lob_files = _LobFiles(part, spec)
            xml.write(table_xml_head(spec))
            try:
                rows, total = _stream_c(
                    raw, spec, schema_arg, lob_refs, lob_limit, xml.write, progress, via_psql,
                    lob_sink=lob_files.write,
                )  # fmt: skip
            except PsqlFailed as exc:
                _log.warning("%s: %s; reading the table through psycopg instead", spec.name, exc)
                xml.restart()
                continue  # again, through psycopg
            except _Unhandled:
                xml.cancel()
                shutil.rmtree(part, ignore_errors=True)
                return None
            xml.write(TABLE_XML_TAIL)
            break
        xml_bytes = xml.tell()
        crc = xml.close().CRC
    except BaseException:
        if isinstance(xml, TableEntry):
            xml.discard()  # a resumed run cuts the .siard back to the last finished table
        else:
            xml.close()
        raise
    result = TableDigest()
    result.rows, result._sum = rows, total
    if progress:
        progress(rows)
    res = TableResult(
        folder=spec.folder, name=spec.name, rows=rows, digest=result.hexdigest,
        xml_bytes=xml_bytes, lob_files=lob_files.count, seconds=round(time.perf_counter() - t0, 3),
        xml_crc32=crc,
    )  # fmt: skip
    return finish_table_folder(part, dest, res)


class _CrcWriter:
    """Writes the table file and takes the CRC-32 the .siard's ZIP entry needs on the way (so
    the file is not read again for it); the same calls as a
    :class:`~tasks.archive.container.TableEntry`."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.crc32 = 0

    def write(self, data: bytes) -> None:
        self.crc32 = zlib.crc32(data, self.crc32)
        self.out.write(data)

    def tell(self) -> int:
        return int(self.out.tell())

    def restart(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.crc32 = 0

    def cancel(self) -> None:
        self.out.close()

    def close(self) -> Any:
        self.out.close()
        return SimpleNamespace(CRC=self.crc32)


class _LobFiles:
    """Writes the values the converter stored as LOB files (``lob<i>/record<n>.txt|bin``),
    the same files the SQL path fetches with a second query."""

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


def digest_table_c(
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
        except PsqlFailed:
            continue
        except _Unhandled:
            return None
    d = TableDigest()
    d.rows, d._sum = rows, total
    return rows, d.hexdigest
