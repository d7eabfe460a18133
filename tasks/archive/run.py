"""Archiving a database end to end: snapshot → SIARD tables → .siard → verification → E-ARK SIP.

Plain functions (no Prefect); ``flows/archive.py`` and the CLI wrap them. :func:`archive_database`
is the sequence of steps, each in its own module:

1. hold the run lock (:mod:`tasks.archive.lock`) and open the source (:mod:`tasks.archive.source`);
2. in one consistent snapshot, read the catalogue (:mod:`tasks.archive.catalogue`) and start
   or resume the work folder (:mod:`tasks.archive.resume`);
3. write each table (:mod:`tasks.archive.postgres` on PostgreSQL, else
   :mod:`tasks.archive.writer`) into the growing .siard (:mod:`tasks.archive.container`),
   re-read it in the background while the next is written (:mod:`tasks.archive.reread`), and
   hand it to the extras that work table by table (:mod:`tasks.archive.extras`);
4. finish the .siard with its metadata.xml (:mod:`tasks.archive.metadata`) and judge the
   re-read and the inventory (:mod:`tasks.archive.verdict`);
5. package it as an E-ARK SIP (:mod:`tasks.archive.packaging`) and delete the work folder.

A run killed at any moment (even ``kill -9``) and started again skips finished tables and
redoes the rest; finished tables are re-digested in the new snapshot, so a source that changed
in between is detected and the package is then NOT marked verified. Output is deterministic:
same source and archival date, same bytes.
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection

from models.errors import InputError
from tasks.archive import postgres
from tasks.archive.catalogue import Catalogue, read_catalogue
from tasks.archive.container import SIARD_METADATA_XSD
from tasks.archive.exclusions import ExclusionList, load_exclusions
from tasks.archive.extras import ExtrasInRun, PackageExtra
from tasks.archive.inventory import Inventory, compare_inventories, held_inventory
from tasks.archive.lock import exclusive_run
from tasks.archive.metadata import metadata_xml
from tasks.archive.package import FileFact, TableFact, sha256_file
from tasks.archive.packaging import (
    PackageFolder,
    archive_info,
    package_facts,
    package_objid,
    write_package,
)
from tasks.archive.reread import BackgroundReread, ChunkExecutor
from tasks.archive.resume import SiardInProgress, remove_work, start_or_resume_work, work_folder
from tasks.archive.retention import DEFAULT_RETENTION_PATH, RetentionPlan, load_retention
from tasks.archive.schema import TableSpec
from tasks.archive.source import begin_snapshot, connect, database_product, open_source
from tasks.archive.verdict import archived_table, compare_reread, verification_detail
from tasks.archive.writer import (
    LOB_INLINE_LIMIT,
    TableResult,
    digest_table,
    write_table,
)


class Progress(Protocol):
    """What a progress display receives (rich bar in the CLI, a Prefect artifact in the flow)."""

    def planned(self, tables: list[tuple[str, int]]) -> None: ...
    def rows(self, table: str, done: int) -> None: ...
    def table_done(self, table: str, result: TableResult, resumed: bool) -> None: ...
    def stage(self, name: str) -> None: ...


class NoProgress:
    def planned(self, tables: list[tuple[str, int]]) -> None:
        pass

    def rows(self, table: str, done: int) -> None:
        pass

    def table_done(self, table: str, result: TableResult, resumed: bool) -> None:
        pass

    def stage(self, name: str) -> None:
        pass


@dataclass
class ArchiveOutcome:
    """The result of one archiving run."""

    package: Path
    objid: str
    mets_sha256: str
    siard_sha256: str
    siard_bytes: int
    tables: list[TableFact]
    verified: bool
    problems: list[str] = field(default_factory=list)
    resumed_tables: list[str] = field(default_factory=list)
    unclassified_tables: list[str] = field(default_factory=list)
    seconds: float = 0.0
    inventory: Inventory = field(default_factory=Inventory)  # the source's, taken first
    excluded: list[str] = field(default_factory=list)  # left out on purpose, from the plan

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def counts(self) -> dict[str, Any]:
        return {
            t.name: {"rows": t.rows, "digest": t.digest, "retention": t.retention}
            for t in self.tables
        }


def archive_database(
    source_url: str,
    out_dir: Path,
    *,
    archival_date: date | None = None,
    retention_path: Path | None = None,
    dbname: str = "SAMSA",
    schemas: list[str] | None = None,
    exclusions_path: Path | None = None,
    lob_limit: int = LOB_INLINE_LIMIT,
    progress: Progress | None = None,
    after_table: Callable[[str], None] | None = None,
    fast: bool = True,
    reread_executor: ChunkExecutor | None = None,
    extras: Sequence[PackageExtra] = (),
) -> ArchiveOutcome:
    """Archive the database at ``source_url`` into an E-ARK SIP under ``out_dir``.

    One run per source and output folder at a time (a lock file that the operating system
    releases even after ``kill -9``); a second concurrent run is refused as bad input.
    ``reread_executor`` runs the verification re-read's chunks (default: a pool of its own,
    threads, or processes without the C module); the flow passes its Prefect task runner so
    they show as task runs. ``extras`` add content to the package (the composition root's
    ``PACKAGE_EXTRAS``, e.g. the person index); see :mod:`tasks.archive.extras`.

    Before anything is written the source's catalogue is read (every schema, or ``schemas``
    when given): a column the archive cannot hold, or an exclusion (``exclusions_path``,
    default ``deploy/plan/archive-exclusions.yaml``) that names nothing, is bad input listing
    them all. The package is verified only when the archive holds that whole inventory.
    """
    with exclusive_run(Path(out_dir), source_url), ExitStack() as cleanup, _few_collections():
        t0 = time.perf_counter()
        _reuse_freed_memory()
        progress = progress or NoProgress()
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        retention = load_retention(retention_path)
        exclusions = load_exclusions(exclusions_path)
        engine = open_source(source_url)
        work = work_folder(out_dir, source_url)
        run_extras = ExtrasInRun(extras, work / "extras")
        # a failure at any later point: what the extras have started is stopped and deleted
        cleanup.callback(run_extras.abandon)
        siard: SiardInProgress | None = None
        reread: BackgroundReread | None = None
        try:
            with connect(engine, source_url) as conn:
                snapshot = begin_snapshot(conn)
                product = database_product(conn)
                catalogue = _read_catalogue(conn, exclusions, schemas, retention)
                specs = catalogue.tables()
                archival = start_or_resume_work(work, specs, archival_date)
                progress.planned([(s.key, catalogue.row_counts[s.key]) for s in specs])
                # the .siard grows table by table; each finished table is re-read while the
                # next one is written
                siard = SiardInProgress.open(work, specs)
                reread = BackgroundReread(executor=reread_executor)
                run_extras.start([s.name for s in specs])
                results, resumed, problems = _archive_tables(
                    conn, specs, work, siard, reread, run_extras, fast=fast, lob_limit=lob_limit,
                    progress=progress, after_table=after_table, row_counts=catalogue.row_counts,
                )  # fmt: skip
                conn.rollback()
        except BaseException:
            if reread is not None:
                reread.close()
            if siard is not None:
                siard.writer.abandon(keep=True)  # a run again goes on from it
            raise
        finally:
            engine.dispose()

        progress.stage("assembling the SIARD archive")
        left_out = _left_out(catalogue, schemas)
        facts_tables = [
            TableFact(s.key, s.folder, results[s.key].rows, results[s.key].digest,
                      retention.for_table(s.key).label())
            for s in specs
        ]  # fmt: skip
        package = PackageFolder.start(out_dir, package_objid(facts_tables, archival), dbname)
        meta = metadata_xml(archive_info(dbname, snapshot, archival, product), catalogue, results)
        extra_files, found = _finish_beside_reread(
            siard, meta, package.siard_path, reread, run_extras, source_url, progress
        )
        expected = {s.key: (results[s.key].rows, results[s.key].digest) for s in specs}
        problems.extend(compare_reread(package.siard_path, expected, found, reread.tables()))
        source_inventory = catalogue.inventory()
        problems.extend(compare_inventories(source_inventory, held_inventory(meta)))
        verified = not problems
        rows = sum(r.rows for r in results.values())
        detail = verification_detail(len(specs), rows, source_inventory, problems)

        progress.stage("packaging (E-ARK SIP, METS, PREMIS)")
        facts = package_facts(
            package, dbname, archival, product, facts_tables, verified, detail,
            source_inventory.summary(), left_out,
        )  # fmt: skip
        siard_fact = FileFact.of(
            package.siard_path, f"data/{package.siard_name}", siard.writer.sha256
        )
        retention_name = str(retention_path or DEFAULT_RETENTION_PATH.name)
        write_package(package, facts, siard_fact, extra_files, retention_name, retention)
        remove_work(out_dir, work)
        return ArchiveOutcome(
            package=package.final,
            objid=package.objid,
            mets_sha256=sha256_file(package.final / "METS.xml"),
            siard_sha256=siard_fact.sha256,
            siard_bytes=siard_fact.size,
            tables=facts_tables,
            verified=verified,
            problems=problems,
            resumed_tables=resumed,
            unclassified_tables=[s.key for s in specs if s.key not in retention.tables],
            inventory=source_inventory,
            excluded=left_out,
            seconds=round(time.perf_counter() - t0, 2),
        )


def _finish_beside_reread(
    siard: SiardInProgress,
    meta: bytes,
    place: Path,
    reread: BackgroundReread,
    run_extras: ExtrasInRun,
    source_url: str,
    progress: Progress,
) -> tuple[list[Path], dict[str, tuple[int, str, list[str]]]]:
    """Finish the .siard, put it at ``place`` in the package, and give the extras' files and
    the re-read's results.

    The re-read of the last tables is still running when the .siard is finished; it reads the
    file by its name in the work folder. The finished file gets a second name at ``place`` (a
    hard link: the same bytes, nothing copied), so the extras (the person index's keyed hashes,
    0.2-0.3 s at 2 M rows) are made from it while the re-read ends, instead of after it. The
    work folder's name is removed once the re-read is done. Where the file system has no hard
    links, the re-read is waited for first and the file moved, as before."""
    siard.writer.finish(meta, SIARD_METADATA_XSD, rename=False)
    part = siard.writer.part
    try:
        os.link(part, place)
    except OSError:  # no hard links here: one after the other
        progress.stage("verifying: re-reading the archive")
        found = reread.results()
        os.replace(part, place)
        return run_extras.finish(place, source_url), found
    try:
        extra_files = run_extras.finish(place, source_url)
        progress.stage("verifying: re-reading the archive")
        found = reread.results()
    except BaseException:
        reread.close()
        raise
    part.unlink()
    return extra_files, found


@contextmanager
def _few_collections() -> Iterator[None]:
    """Keep Python's cyclic garbage collector from scanning the same objects over and over.

    The row scans and batches of a run make millions of short-lived tuples; each 700 of them
    started a collection, and the older generations held every object of the imported
    libraries, so a 2 M-row run spent over a second in ``gc_collect_main`` (py-spy). Raising
    the threshold and freezing what existed at the start still left 0.6 s (libraries imported
    lazily while connecting). During the run the collector is off: what the run builds is
    freed by reference counting (rows, batches, tuples hold no cycles) and the few cycles
    (SQLAlchemy results, futures) are collected once at the end, when everything is as before.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _reuse_freed_memory() -> None:
    """Let glibc keep freed memory for the next batch instead of giving it back at once.

    Every batch of about a MB (COPY text, row XML, the C converter's buffers) was allocated
    fresh: glibc gave blocks of that size back to the system when they were freed (``brk``,
    ``munmap``), so the next batch touched new pages the kernel had to zero again. Up to
    128 MB freed at the top of the heap is now kept (blocks under 32 MB come from the heap):
    at 2 M rows about a third less system time, for some 17 MB more peak memory. Only where
    the C library is glibc; the setting stays for the process."""
    if platform.libc_ver()[0] != "glibc":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
    mallopt(-1, 128 << 20)  # M_TRIM_THRESHOLD


def _read_catalogue(
    conn: Connection, exclusions: ExclusionList, schemas: list[str] | None, retention: RetentionPlan
) -> Catalogue:
    """The source's catalogue, each table with its retention class; bad input if no table."""
    catalogue = read_catalogue(conn, exclusions, schemas)
    for sch in catalogue.schemas:
        sch.tables = [
            TableSpec(**{**s.__dict__, "retention": retention.for_table(s.key).summary()})
            for s in sch.tables
        ]
    if not catalogue.tables():
        raise InputError("the source database has no tables to archive")
    return catalogue


def _archive_tables(
    conn: Connection,
    specs: list[TableSpec],
    work: Path,
    siard: SiardInProgress,
    reread: BackgroundReread,
    run_extras: ExtrasInRun,
    *,
    fast: bool,
    lob_limit: int,
    progress: Progress,
    after_table: Callable[[str], None] | None,
    row_counts: dict[str, int] | None = None,
) -> tuple[dict[str, TableResult], list[str], list[str]]:
    """Write each table not finished yet (re-digest the finished ones), add it to the .siard
    and hand it to the re-read and the extras. Returns the tables' results (by key), the keys
    of the tables resumed, and the problems found (a source changed since a table was written).
    ``row_counts``: the catalogue's, by table key (small tables are read without psql)."""
    row_counts = row_counts or {}
    results: dict[str, TableResult] = {}
    resumed: list[str] = []
    problems: list[str] = []
    for spec in specs:
        dest = work / "tables" / spec.work_folder
        by_postgres = fast and postgres.supports(conn, spec)
        earlier_result = TableResult.load_if_complete(dest)
        if earlier_result is not None:
            res = earlier_result
            resumed.append(spec.key)
            rows, digest = (
                postgres.digest_table_pg(conn, spec, spec.schema_arg)
                if by_postgres
                else digest_table(conn, spec, spec.schema_arg)
            )
            if (rows, digest) != (res.rows, res.digest):
                problems.append(
                    f"{spec.key}: the source changed after this table was archived in "
                    "an earlier, interrupted run"
                )
            progress.table_done(spec.key, res, True)
        else:
            report = _rows_reporter(progress, spec.key)
            if by_postgres:  # on the C path the table file goes straight into the .siard
                res = postgres.write_table_pg(
                    conn, spec, spec.schema_arg, dest, lob_limit=lob_limit,
                    schema_folder=spec.schema_folder, progress=report,
                    into=partial(siard.begin_table, spec), rows_hint=row_counts.get(spec.key),
                )  # fmt: skip
            else:
                res = write_table(
                    conn, spec, spec.schema_arg, dest, lob_limit=lob_limit,
                    schema_folder=spec.schema_folder, progress=report,
                )  # fmt: skip
            progress.table_done(spec.key, res, False)
        results[spec.key] = res
        archived = archived_table(spec)
        spans = siard.add(spec, dest)
        reread.submit(siard.writer.part, archived, spans)
        columns = [c.name for c in spec.columns]
        run_extras.table_ready(
            siard.writer.part, spec.key, archived.entry, columns, *spans[archived.entry]
        )
        if after_table:
            after_table(spec.key)
    return results, resumed, problems


def _left_out(catalogue: Catalogue, schemas: list[str] | None) -> list[str]:
    """What the package says was left out on purpose: the plan's exclusions, and the schemas
    not chosen with ``schemas``."""
    left_out = [e.line() for e in catalogue.excluded]
    if schemas:
        chosen = ", ".join(s.name for s in catalogue.schemas)
        left_out.append(
            f"every schema not named with --schema (reason: outside the chosen scope; "
            f"decided by the operator of this run; chosen: {chosen})"
        )
    return left_out


def _rows_reporter(progress: Progress, table: str) -> Callable[[int], None]:
    def report(done: int) -> None:
        progress.rows(table, done)

    return report
