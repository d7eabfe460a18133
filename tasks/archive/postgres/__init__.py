"""The PostgreSQL fast path: tables written as SIARD row XML without Python touching values.

Three modules, by how the rows reach the table file:

- :mod:`~tasks.archive.postgres.sql_path`: the server writes each ``<row>…</row>`` and its
  canonical-row hash itself (one SQL expression per column); Python writes the lines.
- :mod:`~tasks.archive.postgres.c_path`: the server sends plain ``COPY`` text and the C module
  :mod:`tasks.archive._siardc` turns it into the same bytes, faster; a value it does not handle
  sends the table back to the SQL path.
- :mod:`~tasks.archive.postgres.copy_stream`: the plain COPY stream for the C path, in MB
  batches, through ``psql`` sharing the snapshot or through psycopg.

The functions here are what the archive run calls: :func:`supports` says whether a table can
go this way (else the generic :mod:`tasks.archive.writer` writes it), :func:`write_table_pg` and
:func:`digest_table_pg` take the C path when it is built and enabled, else the SQL path. Either
path gives the same bytes and the same ``sha256-rowsum-v1`` digest as the generic writer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection

from tasks.archive.container import TableEntry
from tasks.archive.postgres.c_path import c_path_enabled, digest_table_c, write_table_c
from tasks.archive.postgres.sql_path import digest_table_sql, write_table_sql
from tasks.archive.schema import TableSpec
from tasks.archive.types import Kind
from tasks.archive.writer import LOB_INLINE_LIMIT, TableResult

FAST_KINDS = {
    Kind.integer, Kind.decimal, Kind.boolean, Kind.string, Kind.clob,
    Kind.binary, Kind.blob, Kind.date, Kind.timestamp,
}  # fmt: skip


def supports(conn: Connection, spec: TableSpec) -> bool:
    """Whether the fast path can write this table exactly."""
    return conn.dialect.name == "postgresql" and all(
        c.kind in FAST_KINDS and c.cardinality is None and c.read_as in ("", "text", "numeric")
        for c in spec.columns
    )


def digest_table_pg(conn: Connection, spec: TableSpec, schema_arg: str | None) -> tuple[int, str]:
    """Row count and ``sha256-rowsum-v1`` digest of the table: with the C module from a plain
    COPY as when writing, else from the canonical rows the server builds."""
    if c_path_enabled():
        found = digest_table_c(conn, spec, schema_arg)
        if found is not None:
            return found
    return digest_table_sql(conn, spec, schema_arg)


def write_table_pg(
    conn: Connection,
    spec: TableSpec,
    schema_arg: str | None,
    dest: Path,
    *,
    schema_folder: str = "schema0",
    lob_limit: int = LOB_INLINE_LIMIT,
    progress: Callable[[int], None] | None = None,
    into: Callable[[], TableEntry] | None = None,
    rows_hint: int | None = None,
) -> TableResult:
    """Write ``spec``'s table into ``dest`` (atomically, like
    :func:`tasks.archive.writer.write_table`): through the C converter when it is built, else
    (or for a value it does not handle) through the server-side XML. ``into``: on the C path
    the table file goes straight into the .siard's entry this starts (see
    :func:`~tasks.archive.postgres.c_path.write_table_c`); ``rows_hint``: the table's row count
    from the catalogue (a small one is read without starting psql)."""
    if c_path_enabled():
        res = write_table_c(
            conn, spec, schema_arg, dest, schema_folder, lob_limit, progress, into, rows_hint
        )
        if res is not None:
            return res
    return write_table_sql(
        conn, spec, schema_arg, dest, schema_folder=schema_folder, lob_limit=lob_limit,
        progress=progress,
    )  # fmt: skip
