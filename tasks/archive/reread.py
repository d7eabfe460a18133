"""Re-reading a SIARD archive fast: table files are split at row boundaries into chunks that
workers read side by side (the general path: each chunk of 512 KB parsed whole by lxml and
validated against the table's own schema, then digested row by row).

Because entries are stored uncompressed, a worker reads its byte range straight from the
.siard file; each chunk is wrapped in the table file's own head and tail, so it is validated
against the same schema as the whole file (rows are independent in the table schema). The
content digest is a sum, so chunk results add up to the table's digest in any order.
"""

from __future__ import annotations

import os
import threading
import zipfile
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from tasks.archive.container import entry_data_offset
from tasks.archive.digest import TableDigest
from tasks.archive.reader import ArchivedTable, SiardArchive
from tasks.archive.types import Kind

try:
    from tasks.archive import _siardc
except ImportError:  # built by pip install where a C compiler is present
    _siardc = None  # type: ignore[assignment]

CHUNK_BYTES = 512 * 1024  # a chunk is parsed whole: ~13× its size in memory
_ROW = b"<row>"


@dataclass(frozen=True)
class Chunk:
    table: str
    start: int  # offsets within the entry
    end: int


@dataclass(frozen=True)
class ChunkResult:
    table: str
    rows: int
    digest_sum: int
    error: str | None = None


def _chunks(siard: Path, table: str, entry: str, data_offset: int, size: int) -> list[Chunk]:
    """Cut ``entry`` into ranges that start at ``<row>`` (first: at the first row)."""
    with open(siard, "rb") as f:
        f.seek(data_offset)
        head = f.read(min(size, 64 * 1024))
        first = head.find(_ROW)
        tail_start = size - len(b"</table>\n")
        if first < 0:
            return [Chunk(table, tail_start, tail_start)]
        cuts = [first]
        pos = first + CHUNK_BYTES
        while pos < tail_start:
            f.seek(data_offset + pos)
            window = f.read(1 << 20)
            i = window.find(_ROW)
            while i < 0 and window:
                pos += len(window) - 4
                f.seek(data_offset + pos)
                window = f.read(1 << 20)
                i = window.find(_ROW)
            if i < 0 or pos + i >= tail_start:
                break
            cuts.append(pos + i)
            pos = pos + i + CHUNK_BYTES
    cuts.append(tail_start)
    return [Chunk(table, a, b) for a, b in zip(cuts, cuts[1:], strict=False)]


@dataclass
class _Prepared:
    """What a worker needs for every chunk of one table (kept per process)."""

    archive: SiardArchive
    table: ArchivedTable
    schema: etree._XMLSchema
    head: bytes  # the table file up to its first row
    offset: int  # where the entry's data starts in the .siard
    c_kinds: bytes = b""  # per column, the C decoder's type code (see _siardc.c, enum R_…)
    c_nullable: bytes = b""


#: value kind → the C decoder's code; other kinds (real, double, time, interval): 7, taken as is
_C_READ_KIND = {
    Kind.string: 0, Kind.clob: 0, Kind.binary: 1, Kind.blob: 1, Kind.integer: 2,
    Kind.decimal: 3, Kind.boolean: 4, Kind.date: 5, Kind.timestamp: 6,
}  # fmt: skip


def c_reread_enabled() -> bool:
    """Whether the C decoder is built and not switched off (``SAMSA_DECOM_ARCHIVE_C=0``)."""
    return _siardc is not None and os.environ.get("SAMSA_DECOM_ARCHIVE_C", "1") != "0"


def _with_c_layout(prep: _Prepared) -> _Prepared:
    cols = prep.table.columns
    prep.c_kinds = bytes(_C_READ_KIND.get(c.kind, 7) for c in cols)
    prep.c_nullable = bytes(1 if c.nullable else 0 for c in cols)
    return prep


#: per process; pool workers live for one :func:`reread_tables` call, in-process runs clear it
_PREPARED: dict[tuple[str, str], _Prepared] = {}
_PREPARING = threading.Lock()  # threads of one process share _PREPARED


def _prepare(siard: Path, table: str) -> _Prepared:
    key = (str(siard), table)
    prep = _PREPARED.get(key)
    if prep is not None:
        return prep
    with _PREPARING:
        return _PREPARED.get(key) or _prepare_locked(siard, table, key)


def _prepare_locked(siard: Path, table: str, key: tuple[str, str]) -> _Prepared:
    # one open archive per file and process (its ZIP directory lists every LOB file)
    same = next((p.archive for k, p in _PREPARED.items() if k[0] == key[0]), None)
    archive = same or SiardArchive(siard)
    t = archive.table(table)
    entry = t.entry
    schema = etree.XMLSchema(etree.fromstring(archive._zip.read(entry[:-4] + ".xsd")))
    offset = entry_data_offset(siard, entry)
    size = archive._zip.getinfo(entry).file_size
    with open(siard, "rb") as f:
        f.seek(offset)
        head_all = f.read(min(size, 64 * 1024))
    first = head_all.find(_ROW)
    head = head_all[:first] if first >= 0 else head_all[: size - 9]
    prep = _PREPARED[key] = _with_c_layout(_Prepared(archive, t, schema, head, offset))
    return prep


def _forget_prepared() -> None:
    """Drop the per-table state (in-process runs: the file may change before the next one)."""
    for archive in {id(p.archive): p.archive for p in _PREPARED.values()}.values():
        archive.close()
    _PREPARED.clear()


def _digest_chunk(path: str, prep: _Prepared, chunk: Chunk, schemas: bool = False) -> ChunkResult:
    with open(path, "rb") as f:
        f.seek(prep.offset + chunk.start)
        body = f.read(chunk.end - chunk.start)
    if not schemas and c_reread_enabled() and not prep.table.has_arrays:
        status, c_rows, c_sum, _at = _siardc.digest_rows(
            body, prep.c_kinds, prep.c_nullable, prep.archive._zip.read
        )
        if status == 0:
            return ChunkResult(chunk.table, c_rows, int.from_bytes(c_sum, "big"))
    doc = prep.head + body + b"</table>\n"
    try:
        rows, digest_sum = prep.archive.digest_document(prep.table, doc, prep.schema)
    except (etree.XMLSyntaxError, etree.DocumentInvalid) as exc:
        entry = prep.table.entry
        return ChunkResult(chunk.table, 0, 0, f"not valid against {entry[:-4]}.xsd: {exc}")
    return ChunkResult(chunk.table, rows, digest_sum)


def _work(args: tuple[str, Chunk] | tuple[str, Chunk, bool]) -> ChunkResult:
    siard_path, chunk, *rest = args
    schemas = bool(rest and rest[0])
    return _digest_chunk(siard_path, _prepare(Path(siard_path), chunk.table), chunk, schemas)


class _Spans:
    """Reads the entries of a .siard that is still being written, by (data offset, size)."""

    def __init__(self, path: str, spans: dict[str, tuple[int, int]]) -> None:
        self.path = path
        self.spans = spans

    def read(self, name: str) -> bytes:
        offset, size = self.spans[name]
        with open(self.path, "rb") as f:
            f.seek(offset)
            return f.read(size)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class StoredTable:
    """A table whose entries are complete in a .siard still being written."""

    siard: str
    table: ArchivedTable
    spans: dict[str, tuple[int, int]]  # entry name → (data offset, size), this table's only


def _prepare_stored(st: StoredTable) -> _Prepared:
    key = (st.siard + "#writing", st.table.key)
    prep = _PREPARED.get(key)
    if prep is not None:
        return prep
    with _PREPARING:
        return _PREPARED.get(key) or _prepare_stored_locked(st, key)


def _prepare_stored_locked(st: StoredTable, key: tuple[str, str]) -> _Prepared:
    entries = _Spans(st.siard, st.spans)
    archive = SiardArchive.over_entries(Path(st.siard), [st.table], entries)
    entry = st.table.entry
    schema = etree.XMLSchema(etree.fromstring(entries.read(entry[:-4] + ".xsd")))
    offset, size = st.spans[entry]
    with open(st.siard, "rb") as f:
        f.seek(offset)
        head_all = f.read(min(size, 64 * 1024))
    first = head_all.find(_ROW)
    head = head_all[:first] if first >= 0 else head_all[: size - 9]
    prep = _PREPARED[key] = _with_c_layout(_Prepared(archive, st.table, schema, head, offset))
    return prep


def _work_stored(args: tuple[StoredTable, Chunk]) -> ChunkResult:
    stored, chunk = args
    return _digest_chunk(stored.siard, _prepare_stored(stored), chunk)


def _combine(names: list[str], results: list[ChunkResult]) -> dict[str, tuple[int, str, list[str]]]:
    out: dict[str, tuple[int, str, list[str]]] = {}
    for name in names:
        total = TableDigest()
        errors: list[str] = []
        for r in results:
            if r.table == name:
                total.rows += r.rows
                total._sum += r.digest_sum
                if r.error:
                    errors.append(r.error)
        out[name] = (total.rows, total.hexdigest, errors)
    return out


class ChunkExecutor(Protocol):
    """Anything that runs ``fn(arg)`` somewhere and returns a future with ``.result()``:
    a :class:`~concurrent.futures.ProcessPoolExecutor`, or the flow's Prefect task runner
    (see ``flows/archive.py``), so the re-read fans out as Prefect task runs."""

    def submit(self, fn: Any, arg: Any, /) -> Any: ...


def forget_prepared_of(siard: str) -> None:
    """Drop this process's per-table state for ``siard`` (re-reads that ran in-process,
    e.g. on a thread pool: the file may be rewritten by a later run)."""
    for key in [k for k in _PREPARED if k[0] in (siard, siard + "#writing")]:
        prep = _PREPARED.pop(key)
        if key[0] == siard:
            prep.archive.close()


class BackgroundReread:
    """Re-reads each table of a .siard being written (:class:`~tasks.archive.container.
    SiardWriter`) in worker threads (processes without the C module) as soon as its entries are
    on disk, while the next tables are written: the same decoding and digest as
    :func:`reread_tables`,
    over the same bytes of the same file. The column types come from the caller; compare them
    with the finished archive's metadata.xml (:meth:`tables`)."""

    def __init__(self, workers: int | None = None, executor: ChunkExecutor | None = None) -> None:
        self._pool: Executor | None = None
        if executor is None:
            executor = self._pool = _local_pool(workers or min(os.cpu_count() or 2, 4))
        self._executor = executor
        self._futures: list[Any] = []
        self._tables: list[ArchivedTable] = []
        self._siard: str | None = None

    def submit(
        self, siard_part: Path, table: ArchivedTable, spans: dict[str, tuple[int, int]]
    ) -> None:
        """Queue ``table`` (its entries' spans from :meth:`SiardWriter.add_table`)."""
        offset, size = spans[table.entry]
        stored = StoredTable(str(siard_part), table, spans)
        self._siard = stored.siard
        for c in _chunks(siard_part, table.key, table.entry, offset, size):
            self._futures.append(self._executor.submit(_work_stored, (stored, c)))
        self._tables.append(table)

    def tables(self) -> list[ArchivedTable]:
        return list(self._tables)

    def results(self) -> dict[str, tuple[int, str, list[str]]]:
        """Table name → (rows, digest, errors); waits for every queued chunk."""
        try:
            results = [f.result() for f in self._futures]
        finally:
            self.close()
        return _combine([t.key for t in self._tables], results)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        else:
            for f in self._futures:  # an outside executor: let queued chunks finish
                try:
                    f.result()
                except BaseException:  # noqa: BLE001 - already reported by results()
                    pass
        if self._siard is not None:
            forget_prepared_of(self._siard)


def _local_pool(workers: int, schemas: bool = False) -> Executor:
    """Threads when the C decoder does the work (it releases the GIL), else processes."""
    if c_reread_enabled() and not schemas:
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="siard-reread")
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


def reread_tables(
    siard: Path,
    workers: int | None = None,
    executor: ChunkExecutor | None = None,
    *,
    schemas: bool = False,
) -> dict[str, tuple[int, str, list[str]]]:
    """Table name → (rows, digest, errors), re-read from the archive in parallel (on
    ``executor`` when given, else on a pool of its own); ``schemas=True`` validates every
    table file against its XSD too (the general path, see the module's docstring)."""
    with zipfile.ZipFile(siard) as zf, SiardArchive(siard) as archive:
        chunks: list[Chunk] = []
        for t in archive.tables():
            info = zf.getinfo(t.entry)
            chunks.extend(
                _chunks(siard, t.key, t.entry, entry_data_offset(siard, t.entry), info.file_size)
            )
        names = [t.key for t in archive.tables()]
    chunks.sort(key=lambda c: c.end - c.start, reverse=True)
    workers = workers or min(len(chunks), os.cpu_count() or 2, 4)
    jobs = [(str(siard), c, schemas) for c in chunks]
    if executor is not None:
        try:
            results = [f.result() for f in [executor.submit(_work, j) for j in jobs]]
        finally:
            forget_prepared_of(str(siard))
    elif workers <= 1 or len(chunks) <= 1:
        try:
            results = [_work(j) for j in jobs]
        finally:
            _forget_prepared()
    else:
        with _local_pool(workers, schemas) as pool:
            try:
                results = list(pool.map(_work, jobs))
            finally:
                forget_prepared_of(str(siard))
    return _combine(names, results)
