"""The bags' fast path from PostgreSQL: one COPY per table, routed and formatted in C.

When the C module :mod:`tasks.extracts._bagc` is built (``pip install`` builds it where a C
compiler is present) and the source is SAMSA's live PostgreSQL database, each record table is
read as plain ``COPY … TO STDOUT`` text in primary-key order (through ``psql`` sharing the
snapshot, or psycopg: :mod:`tasks.archive.postgres.copy_stream`), and C code writes each row
as the CSV line and JSON object the Python loop of :mod:`tasks.extracts.orgs` writes, into the
files of the organisation that wrote it and of the one that received it (``inkommen-``).

The persons follow the records. While the record tables are routed, the C code notes each
record's person for every organisation it was written to (``_bagc.Pairs``); then one ordered
scan of ``person`` (protected addresses withheld by the server) is routed by those notes. When a
record table had to go the Python way, or the person ids are not of one kind, the server joins
``person`` with the (person, organisation) pairs of every record table instead, beside the
tables. All tables are read in one REPEATABLE READ snapshot.

The bytes are the Python loop's (``tests/test_extract_pg_routing.py`` compares both). A value
the C code does not format exactly as Python would (a year after 9999, a numeric Python writes
as ``1E-7`` …) sends that table back to the Python loop. ``SAMSA_DECOM_EXTRACTS_C=0`` turns
the fast path off.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import resource
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

from tasks.archive.postgres.copy_stream import (
    PsqlFailed,
    batches_psql,
    batches_psycopg,
    psql_available,
)
from tasks.extracts.bag import BagWriter
from tasks.extracts.source import LiveSource, TableSpec

try:
    from tasks.extracts import _bagc
except ImportError:  # built by pip install where a C compiler is present
    _bagc = None  # type: ignore[assignment]

_log = logging.getLogger(__name__)

#: the extracts' value kinds → the router's codes (``enum K_…`` in ``_bagc.c``)
_C_KIND = {"text": 0, "int": 1, "float": 2, "bool": 3, "date": 6, "decimal": 7, "bytes": 8}
_TSTZ, _TS = 4, 5
#: kinds an organisation or person id may have here (their COPY text is Python's str())
_ID_KINDS = ("int", "text")
#: bytes an organisation's buffer collects before it is written (memory: at most ~32 MB in all)
FLUSH_AT = 1 << 14
_PENDING = 3  # batches of about a MB read ahead at most
#: a person row is written to each of its organisations' files: its batches are fed in pieces
#: of this size, so the bytes in flight stay those of a record table's batches
PERSON_PIECE = 1 << 17


def _pieces(data: bytes | memoryview, size: int) -> Iterator[memoryview]:
    """``data`` (whole lines) in pieces of about ``size`` bytes, each ending with a line."""
    view, start = memoryview(data), 0
    if not isinstance(data, bytes):
        data = bytes(data)  # only bytes are searched
    while len(data) - start > size:
        cut = data.rfind(b"\n", start, start + size) + 1 or data.find(b"\n", start + size) + 1
        yield view[start:cut]
        start = cut
    if start < len(data):
        yield view[start:]


def c_routing_enabled() -> bool:
    """Whether the C router is built and not switched off (``SAMSA_DECOM_EXTRACTS_C=0``)."""
    return _bagc is not None and os.environ.get("SAMSA_DECOM_EXTRACTS_C", "1") != "0"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _json_keys(columns: tuple[str, ...]) -> tuple[bytes, ...]:
    enc = json.JSONEncoder(ensure_ascii=False).encode
    return tuple(((", " if i else "{") + enc(c) + ": ").encode() for i, c in enumerate(columns))


def csv_header(columns: tuple[str, ...]) -> bytes:
    """The header row exactly as :class:`csv.writer` writes it (CRLF)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(columns)
    return out.getvalue().encode("utf-8")


def _allow_open_files(wanted: int) -> None:
    """Raise this process's soft limit of open files towards ``wanted`` (never above the
    hard limit): with many organisations the default 1024 is near."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class PgRouting:
    """Writes record tables and persons into the bags through COPY and the C router; each
    ``write_*`` answers False when the table must go the Python way (nothing of it stays)."""

    def __init__(self, source: LiveSource, org_ids: list[str], only_org: str | None) -> None:
        self.source = source
        self.org_ids = org_ids
        self.org_keys = [o.encode("utf-8") for o in org_ids]
        self.only_org = only_org
        self.conn = source.engine.connect().execution_options(isolation_level="REPEATABLE READ")
        self.conn.begin()
        self.raw = self.conn.connection.driver_connection
        self.via_psql = psql_available(self.raw)
        self._background = ThreadPoolExecutor(1, thread_name_prefix="bag-persons")
        self._opener = ThreadPoolExecutor(1, thread_name_prefix="bag-open")
        self._prefetched: dict[tuple[str, ...], Future[dict[int, tuple[IO[bytes], IO[bytes]]]]] = {}
        #: the (person, organisation) pairs the routers noted, while every record table with
        #: persons went the C way (None: the persons' organisations come from the server)
        self._pairs: Any = None
        _allow_open_files(8192)  # a table's files, the next table's and the persons' at once

    @classmethod
    def open(cls, source: Any, org_ids: list[str], only_org: str | None) -> PgRouting | None:
        """The fast path for ``source``, or None (not PostgreSQL, or the C module missing)."""
        if not (c_routing_enabled() and isinstance(source, LiveSource)):
            return None
        if source.engine.dialect.name != "postgresql":
            return None
        return cls(source, org_ids, only_org)

    def close(self) -> None:
        self._background.shutdown(wait=True)
        self._opener.shutdown(wait=True)
        self.conn.close()

    # ---------------------------------------------------------------- plans

    def _kinds(self, table: str, spec: TableSpec) -> bytes | None:
        t = self.source.metadata.tables[table]
        codes = []
        for col, kind in zip(t.columns, spec.kinds, strict=True):
            if kind == "datetime":
                codes.append(_TSTZ if getattr(col.type, "timezone", False) else _TS)
            elif kind in _C_KIND:
                codes.append(_C_KIND[kind])
            else:
                return None
        return bytes(codes)

    def _order(self, table: str) -> str:
        t = self.source.metadata.tables[table]
        order = list(t.primary_key.columns) or list(t.columns)[:1]
        return ", ".join(ident(c.name) for c in order)

    def _table_sql(self, table: str) -> str:
        t = self.source.metadata.tables[table]
        name = ident(table) if t.schema is None else f"{ident(t.schema)}.{ident(table)}"
        return name

    # ---------------------------------------------------------------- streaming

    def _batches(self, sql: str) -> Iterator[bytes]:
        copy = f"COPY ({sql}) TO STDOUT"
        if self.via_psql:
            try:
                for batch in batches_psql(self.raw, copy):
                    yield batch[0] if len(batch) == 1 else b"".join(batch)
                return
            except PsqlFailed as exc:
                _log.warning("%s; reading through psycopg instead", exc)
                self.via_psql = False
                raise _Retry from None
        for batch in batches_psycopg(self.raw, copy):
            yield b"".join(batch)

    def _route(
        self, sql: str, files: dict[int, tuple[IO[bytes], IO[bytes]]], args: dict[str, Any]
    ) -> Any:
        """Streams ``sql`` through a router into ``files`` (slot → csv, json); the router, or
        None when a value needs the Python way (the stream is read to its end either way, so
        the transaction stays usable).

        Three steps overlap, each in its own thread, in order: reading the COPY stream (this
        thread), routing and formatting a batch (C, without the GIL), and writing and hashing
        the organisations' bytes. At most ``_PENDING`` batches are in flight (flat memory)."""
        router = _bagc.Router(orgs=self.org_keys, flush_at=FLUSH_AT, **args)
        n = len(self.org_ids)

        def write(chunks: list[tuple[int, int, bytes, bytes]]) -> None:
            for i, recv, c, j in chunks:
                f = files[i + n * recv]
                f[0].write(c)
                f[1].write(j)

        def feed_and_write(feeding: Future[Any]) -> None:
            write(feeding.result())

        failed: ValueError | None = None
        with (
            ThreadPoolExecutor(1, thread_name_prefix="bag-route") as route_pool,
            ThreadPoolExecutor(1, thread_name_prefix="bag-write") as write_pool,
        ):
            pending: deque[Future[None]] = deque()
            stream: Iterator[bytes | memoryview] = self._batches(sql)
            if "persons" in args:  # a person row fans out: smaller pieces in flight
                stream = (p for batch in stream for p in _pieces(batch, PERSON_PIECE))
            for data in stream:
                if failed is not None:
                    continue  # drain the stream
                feeding = route_pool.submit(router.feed, data)
                pending.append(write_pool.submit(feed_and_write, feeding))
                while len(pending) > _PENDING or (pending and pending[0].done()):
                    try:
                        pending.popleft().result()
                    except ValueError as exc:
                        failed = exc
                        break
            for f in pending:
                try:
                    f.result()
                except ValueError as exc:
                    failed = failed or exc
        if failed is not None:
            _log.info("a value needs the Python way (%s)", failed)
            return None
        write(router.flush())
        return router

    def _run(
        self,
        sql: str,
        writers: dict[str, BagWriter],
        names: list[str],
        columns: tuple[str, ...],
        counts: dict[str, dict[str, int]],
        args: dict[str, Any],
    ) -> Any:
        """Opens the files ``names`` in every bag, routes ``sql`` into them and closes them
        (or removes them when the table must go the Python way: then None)."""
        for attempt in range(2):
            ready = self._prefetched.pop(tuple(names), None)
            if ready is not None and attempt == 0:
                files = ready.result()
            else:
                files = self._open(writers, names, columns)
            try:
                router = self._route(sql, files, args)
            except _Retry:  # psql failed part-way: again through psycopg, from nothing
                self._finish(writers, names, files, None, counts)
                continue
            self._finish(writers, names, files, router, counts)
            return router
        raise RuntimeError("psql and psycopg both failed")  # pragma: no cover

    def _open(
        self, writers: dict[str, BagWriter], names: list[str], columns: tuple[str, ...]
    ) -> dict[int, tuple[IO[bytes], IO[bytes]]]:
        header = csv_header(columns)
        files: dict[int, tuple[IO[bytes], IO[bytes]]] = {}
        for k, name in enumerate(names):
            for i, oid in enumerate(self.org_ids):
                w = writers[oid]
                pair = (w.open_binary(f"{name}.csv"), w.open_binary(f"{name}.json"))
                pair[0].write(header)
                pair[1].write(b"[")
                files[i + len(self.org_ids) * k] = pair
        return files

    def _finish(
        self,
        writers: dict[str, BagWriter],
        names: list[str],
        files: dict[int, tuple[IO[bytes], IO[bytes]]],
        router: Any,
        counts: dict[str, dict[str, int]],
    ) -> None:
        for k, name in enumerate(names):
            if router is None:
                for oid in self.org_ids:
                    writers[oid].discard(f"{name}.csv")
                    writers[oid].discard(f"{name}.json")
                continue
            per_org = router.counts(bool(k))
            for i, oid in enumerate(self.org_ids):
                n = per_org[i]
                files[i + len(self.org_ids) * k][1].write(b"\n]\n" if n else b"]\n")
                writers[oid].close_file(f"{name}.csv")
                writers[oid].close_file(f"{name}.json")
                counts[oid][name] = n

    # ---------------------------------------------------------------- tables

    def _table_plan(
        self, spec: TableSpec, receivers: list[int], received_name: str
    ) -> tuple[str, list[str], dict[str, Any]] | None:
        """The COPY query, file names and router settings of a record table, or None when the
        table must go the Python way (a value kind or id kind the C code does not write)."""
        kinds = self._kinds(spec.name, spec)
        org_i = spec.index("org_id")
        if kinds is None or org_i is None or len(receivers) > 8:
            return None
        if any(spec.kinds[i] not in _ID_KINDS for i in (org_i, *receivers)):
            return None
        cols = ", ".join(ident(c) for c in spec.columns)
        sql = f"SELECT {cols} FROM {self._table_sql(spec.name)} ORDER BY {self._order(spec.name)}"
        names = [spec.name] + ([received_name] if receivers else [])
        args = {
            "kinds": kinds, "ncols": len(spec.columns), "keys": _json_keys(spec.columns),
            "org_col": org_i, "recv_cols": tuple(receivers),
            "count_unknown": self.only_org is None,
        }  # fmt: skip
        person_i = spec.index("person_id")
        if self._pairs is not None and person_i is not None:
            args |= {"collect": self._pairs, "person_col": person_i}
        return sql, names, args

    def prefetch(
        self, spec: TableSpec, receivers: list[int], received_name: str,
        writers: dict[str, BagWriter],
    ) -> None:  # fmt: skip
        """Create a record table's files in every bag in the background, while the table
        before it streams (creating a few hundred files is not free)."""
        plan = self._table_plan(spec, receivers, received_name)
        if plan is not None:
            names = plan[1]
            self._prefetched[tuple(names)] = self._opener.submit(
                self._open, writers, names, spec.columns
            )

    def write_table(
        self,
        spec: TableSpec,
        receivers: list[int],
        received_name: str,
        writers: dict[str, BagWriter],
        counts: dict[str, dict[str, int]],
        unknown: dict[str, int],
    ) -> int | None:
        """One record table into every bag (and received rows into the receivers' bags); the
        rows routed to their writers, or None when the table must go the Python way."""
        plan = self._table_plan(spec, receivers, received_name)
        router = None if plan is None else self._run(plan[0], writers, plan[1], spec.columns,
                                                     counts, plan[2])  # fmt: skip
        if router is None:
            if "person_id" in spec.columns:
                self._pairs = None  # this table's persons are not noted: the server joins
            return None
        for (col, value), n in router.unknown().items():
            shown = "None" if value is None else value.decode("utf-8", "replace")
            unknown[f"{spec.name}.{spec.columns[col]}:{shown}"] += n
        return sum(router.counts(False))

    def person_pairs_sql(self, tables: list[TableSpec], receiver_columns: tuple[str, ...]) -> str:
        """(person id, organisation id as text) of every record and received record."""
        parts = []
        kinds = {
            s.kinds[i] for s in tables for c in ("org_id", *receiver_columns)
            if (i := s.index(c)) is not None
        }  # fmt: skip
        cast = "" if kinds == {"int"} else "::text"  # integers sort and compare faster
        for spec in tables:
            if "person_id" not in spec.columns or "org_id" not in spec.columns:
                continue
            t = self._table_sql(spec.name)
            parts.append(
                f"SELECT person_id AS pid, org_id{cast} AS org FROM {t} "
                "WHERE person_id IS NOT NULL AND org_id IS NOT NULL"
            )
            for c in receiver_columns:
                if c in spec.columns:
                    r = ident(c)
                    parts.append(
                        f"SELECT person_id, {r}{cast} FROM {t} WHERE person_id IS NOT NULL "
                        f"AND {r} IS NOT NULL AND {r}{cast} IS DISTINCT FROM org_id{cast}"
                    )
        return " UNION ".join(parts)

    def write_persons(
        self,
        spec: TableSpec,
        tables: list[TableSpec],
        receiver_columns: tuple[str, ...],
        address: list[int],
        protected_column: str,
        withheld_column: str,
        writers: dict[str, BagWriter],
        counts: dict[str, dict[str, int]],
    ) -> bool:
        """The persons the bags' records are about, into each bag (protected addresses
        withheld and marked); False when they must go the Python way.

        By the pairs the routers noted when every record table went the C way, else by the
        server's join of ``person`` with every record's (person, organisation)."""
        kinds = self._kinds(spec.name, spec)
        prot = spec.index(protected_column)
        id_i = spec.index("id")
        if kinds is None or id_i is None or not self._persons_routable(spec, tables, prot):
            return False
        flag = f"COALESCE(p.{ident(protected_column)}, false)" if prot is not None else "false"
        cols = [
            f"CASE WHEN {flag} THEN NULL ELSE p.{ident(c)} END" if i in address
            else f"p.{ident(c)}"
            for i, c in enumerate(spec.columns)
        ]  # fmt: skip
        out_cols = (*spec.columns, withheld_column)
        args: dict[str, Any] = {
            "kinds": kinds + bytes([_C_KIND["bool"]]), "keys": _json_keys(out_cols),
            "recv_cols": (), "count_unknown": False,
        }  # fmt: skip
        person = f"{self._table_sql(spec.name)} p"
        if self._pairs is not None:
            sql = f"SELECT {', '.join(cols)}, {flag} FROM {person} ORDER BY p.{ident('id')}"
            args |= {"ncols": len(out_cols), "org_col": 0, "persons": self._pairs,
                     "person_col": id_i}  # fmt: skip
        else:
            pairs = self.person_pairs_sql(tables, receiver_columns)
            sql = (
                f"SELECT {', '.join(cols)}, {flag}, r.org FROM {person} "
                f"JOIN ({pairs}) r ON r.pid = p.{ident('id')} ORDER BY p.{ident('id')}, r.org"
            )
            args |= {"ncols": len(out_cols) + 1, "org_col": len(out_cols)}
        return self._run(sql, writers, [spec.name], out_cols, counts, args) is not None

    def _persons_routable(self, spec: TableSpec, tables: list[TableSpec], prot: int | None) -> bool:
        """Whether the C code can write the person table: its values' kinds, a boolean
        protection flag (column ``prot``), and person ids of one kind the C code compares (an
        integer or a text)."""
        id_i = spec.index("id")
        pid_kinds = {s.kinds[i] for s in tables if (i := s.index("person_id")) is not None}
        if self._kinds(spec.name, spec) is None or id_i is None:
            return False
        if prot is not None and spec.kinds[prot] != "bool":
            return False
        return bool(pid_kinds) and pid_kinds == {spec.kinds[id_i]} and pid_kinds <= {*_ID_KINDS}

    def _same_id_text(self, spec: TableSpec, tables: list[TableSpec]) -> bool:
        """Whether every ``person_id`` is written by COPY as the person's ``id`` is: integers
        always are; text ids only when the columns are of one SQL type and not blank-padded
        (``char(n)``), so equal ids are equal bytes."""
        from sqlalchemy.types import CHAR

        id_i = spec.index("id")
        if id_i is None or spec.kinds[id_i] == "int":
            return id_i is not None
        types = [self.source.metadata.tables[spec.name].columns["id"].type] + [
            self.source.metadata.tables[s.name].columns["person_id"].type
            for s in tables if "person_id" in s.columns
        ]  # fmt: skip
        return len({type(t) for t in types}) == 1 and not isinstance(types[0], CHAR)

    def start_persons(self, *args: Any) -> Callable[[], bool]:
        """Plans :meth:`write_persons` (same arguments) before the record tables are written;
        the returned call writes them (or has) and answers as write_persons does.

        When the routers can note every record's person, the persons are written after the
        tables, by those notes. Otherwise the server joins and sorts the persons' organisations
        beside the tables: through psql (its own session in the same snapshot) in the
        background; through psycopg the one connection is busy with the tables, so now."""
        spec, tables, protected_column = args[0], args[1], args[4]
        routable = self._persons_routable(spec, tables, spec.index(protected_column))
        if routable and self._same_id_text(spec, tables):
            self._pairs = _bagc.Pairs()
            return lambda: self.write_persons(*args)
        if self.via_psql:
            return self._background.submit(self.write_persons, *args).result
        done = self.write_persons(*args)
        return lambda: done

    def persons_of(
        self, tables: list[TableSpec], receiver_columns: tuple[str, ...]
    ) -> dict[Any, set[str]]:
        """person id → organisation ids, for the Python way of writing the persons."""
        from sqlalchemy import text

        out: dict[Any, set[str]] = {}
        allowed = set(self.org_ids)
        for pid, org in self.conn.execute(text(self.person_pairs_sql(tables, receiver_columns))):
            if str(org) in allowed:
                out.setdefault(pid, set()).add(str(org))
        return out


class _Retry(Exception):
    """psql failed part-way: the table is read again through psycopg."""
