"""Archiving a database end to end: snapshot → SIARD tables → .siard → verification → E-ARK SIP.

Plain functions (no Prefect); ``flows/archive.py`` and the CLI wrap them.

Resumability: work happens in ``<out>/.samsa-archive-work/<source-key>/``; each finished table
is a folder renamed into place atomically, with its row count and digest. A run killed at any
moment (even ``kill -9``) and started again skips finished tables and redoes the rest; finished
tables are re-digested in the new snapshot, so a source that changed in between is detected
and the package is then NOT marked verified. The package itself is assembled in
``<out>/<OBJID>.part`` and renamed when complete. Output is deterministic: same source and
archival date, same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from lxml import etree
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from models import clock
from models.errors import InputError
from tasks.archive import STANDARDS_DIR, postgres
from tasks.archive import extras as package_extras
from tasks.archive.catalogue import read_catalogue
from tasks.archive.container import SIARD_METADATA_XSD, SiardWriter
from tasks.archive.digest import ALGORITHM
from tasks.archive.durable import replace_folder, write_json_durably
from tasks.archive.exclusions import load_exclusions
from tasks.archive.inventory import Inventory, compare_inventories, held_inventory
from tasks.archive.metadata import ArchiveInfo, metadata_xml
from tasks.archive.package import (
    REPRESENTATION,
    SCHEMA_FILES,
    FileFact,
    PackageFacts,
    TableFact,
    archival_datetime,
    copy_schemas,
    premis_xml,
    report_md,
    representation_mets,
    retention_xml,
    root_mets,
    sha256_file,
)
from tasks.archive.reader import ArchivedColumn, ArchivedTable, SiardArchive, kind_of_sql
from tasks.archive.reread import BackgroundReread, ChunkExecutor
from tasks.archive.retention import DEFAULT_RETENTION_PATH, load_retention
from tasks.archive.schema import TableSpec
from tasks.archive.writer import (
    LOB_INLINE_LIMIT,
    TableResult,
    digest_table,
    write_table,
)

log = logging.getLogger(__name__)

SOFTWARE = "samsa-decom"
SOFTWARE_VERSION = "0.1.0"
WORK_DIR_NAME = ".samsa-archive-work"


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


def source_key(url: str) -> str:
    """A stable, password-free key for a source URL (names the work folder)."""
    shown = make_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


def _abandon_all(extras: dict[int, package_extras.TableByTable]) -> None:
    for extra in extras.values():
        extra.abandon()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _forget_tables_without_xml(tables: Path, in_siard: dict[str, Any]) -> None:
    """A finished table whose XML went into a .siard that is not kept is written again."""
    if not tables.is_dir():
        return
    for folder in tables.iterdir():
        done = TableResult.load_if_complete(folder) is not None
        if done and folder.name not in in_siard and not (folder / f"{folder.name}.xml").exists():
            shutil.rmtree(folder)


def _write_json_atomic(path: Path, data: Any) -> None:
    write_json_durably(path, data)


def _begin_snapshot(conn: Connection) -> str:
    """Start a consistent read: REPEATABLE READ (read only) on PostgreSQL, a read transaction
    on SQLite. Returns a description for the record."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # intervals as ISO 8601 text (P1Y2M3DT4H5M6S): years and months kept, not made days
        conn.exec_driver_sql("SET LOCAL intervalstyle = 'iso_8601'")
        return "PostgreSQL REPEATABLE READ, read only"
    if dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        return f"{dialect} REPEATABLE READ consistent snapshot, read only (InnoDB)"
    if dialect == "sqlite":
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").all()  # takes the read lock
        return "SQLite read transaction"
    return f"{dialect}: default isolation (changes detected by re-digesting)"


def _database_product(conn: Connection) -> str:
    dialect = conn.dialect.name
    try:
        if dialect == "postgresql":
            v = conn.execute(text("SHOW server_version")).scalar()
            return f"PostgreSQL {str(v).split()[0]}"
        if dialect == "sqlite":
            return f"SQLite {conn.execute(text('select sqlite_version()')).scalar()}"
        if dialect in ("mysql", "mariadb"):
            v = str(conn.execute(text("SELECT VERSION()")).scalar())
            name = "MariaDB" if "mariadb" in v.lower() else "MySQL"
            return f"{name} {v.split('-')[0]}"
    except Exception:  # noqa: BLE001 - a label only
        pass
    return dialect


def _load_or_start_work(work: Path, specs_json: list[dict[str, Any]], archival: date) -> date:
    """The work folder's manifest; starts over when the source's structure changed."""
    manifest = work / "manifest.json"
    specs_json = json.loads(json.dumps(specs_json))  # tuples → lists, as stored
    if work.exists():
        data = _read_json(manifest)  # None: absent, empty or cut short (a power loss)
        if data is not None and data.get("tables") == specs_json:
            try:
                return date.fromisoformat(data["archival_date"])
            except (KeyError, TypeError, ValueError):
                pass
        if data is None:
            log.warning("the interrupted run's manifest is missing or unreadable; starting over")
        else:
            log.warning("source structure changed since the interrupted run; starting over")
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "tables").mkdir(exist_ok=True)
    _write_json_atomic(
        work / "manifest.json",
        {"tables": specs_json, "archival_date": archival.isoformat(), "digest": ALGORITHM},
    )
    return archival


def verify_siard(
    siard: Path, expected: dict[str, tuple[int, str]], *, schemas: bool = False
) -> list[str]:
    """Re-read the archive: metadata.xml against the official schema, every table file's rows
    (strictly, by the C decoder where it is built; with ``schemas`` or without it, against
    the table's own XSD by libxml2, chunk by chunk), and row counts + digests against
    ``expected`` (table name → (rows, digest)). Returns the problems (empty = verified)."""
    from tasks.archive.reread import reread_tables

    return compare_reread(siard, expected, reread_tables(siard, schemas=schemas))


def _archived_table(spec: TableSpec) -> ArchivedTable:
    """How the re-read reads ``spec``'s table: the column types as metadata.xml will declare
    them, each mapped to a value kind by the reader's own function (:func:`kind_of_sql`)."""
    columns = tuple(
        ArchivedColumn(
            c.name, c.sql_type, c.type_original, c.nullable, kind_of_sql(c.sql_type), c.cardinality
        )
        for c in spec.columns
    )
    return ArchivedTable(spec.schema, spec.schema_folder, spec.name, spec.folder, 0, "", columns)


def compare_reread(
    siard: Path,
    expected: dict[str, tuple[int, str]],
    found: dict[str, tuple[int, str, list[str]]],
    read_as: list[ArchivedTable] | None = None,
) -> list[str]:
    """The verdict on a re-read (``found``: table name → (rows, digest, errors)) of the finished
    ``siard``: metadata.xml valid against the official schema, row counts as it declares them,
    counts and digests as ``expected``; with ``read_as`` (tables re-read while the archive was
    being written) also the same table folders and column types as metadata.xml declares."""
    import zipfile

    problems: list[str] = []
    meta_schema = etree.XMLSchema(etree.parse(str(SIARD_METADATA_XSD)))
    with zipfile.ZipFile(siard) as zf:
        meta = etree.fromstring(zf.read("header/metadata.xml"))
        if not meta_schema.validate(meta):
            problems.extend(
                f"header/metadata.xml: {e.message} (line {e.line})" for e in meta_schema.error_log
            )
    with SiardArchive(siard) as archive:
        tables = archive.tables()
    declared = {t.key: t.rows for t in tables}
    if read_as is not None:

        def shape(t: ArchivedTable) -> tuple[object, ...]:
            cols = [(c.name, c.sql_type, c.kind, c.cardinality) for c in t.columns]
            return (t.schema_folder, t.folder, cols)

        in_meta = {t.key: shape(t) for t in tables}
        for t in read_as:
            if in_meta.get(t.key) != shape(t):
                problems.append(
                    f"{t.key}: re-read as {shape(t)}, but metadata.xml declares "
                    f"{in_meta.get(t.key)}"
                )
    seen = set()
    for name, (rows, digest, errors) in found.items():
        seen.add(name)
        problems.extend(f"{name}: {e}" for e in errors)
        if errors:
            continue
        if declared.get(name) != rows:
            problems.append(
                f"{name}: metadata.xml says {declared.get(name)} rows, the file holds {rows}"
            )
        want = expected.get(name)
        if want is None:
            problems.append(f"{name}: in the archive but not in the source")
        elif want != (rows, digest):
            problems.append(
                f"{name}: source {want[0]} rows / digest {want[1][:16]}…, archive "
                f"{rows} rows / digest {digest[:16]}…"
            )
    for missing in sorted(set(expected) - seen):
        problems.append(f"{missing}: in the source but not in the archive")
    for extra in sorted(set(declared) - seen):
        problems.append(f"{extra}: in metadata.xml but not re-read")
    return problems


@contextmanager
def _exclusive_run(out_dir: Path, source_url: str) -> Iterator[None]:
    """Hold the run lock for (source, output folder): a lock file that the operating system
    releases even after ``kill -9``; a second concurrent run is refused as bad input."""
    import fcntl

    made_dir = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    lock_path = out_dir / f".samsa-archive-{source_key(source_url)}.lock"
    made_lock = not lock_path.exists()
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"another archive run is already working on this source in {out_dir}"
            ) from None
        try:
            yield
        except InputError:
            # bad input is refused before anything is written: leave no trace of the attempt
            if made_lock:
                lock_path.unlink(missing_ok=True)
            if made_dir and not any(out_dir.iterdir()):
                out_dir.rmdir()
            raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
    extras: Sequence[package_extras.PackageExtra] = (),
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
    with _exclusive_run(Path(out_dir), source_url), ExitStack() as cleanup:
        t0 = time.perf_counter()
        progress = progress or NoProgress()
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        retention = load_retention(retention_path)
        exclusions = load_exclusions(exclusions_path)
        shown = _shown_url(source_url)
        try:
            engine = create_engine(source_url)
        except Exception as exc:
            raise InputError(f"cannot use source URL {shown} ({type(exc).__name__})") from None
        database = engine.url.database
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            if not Path(database).is_file():
                raise InputError(f"source database {shown}: no such SQLite file")
        work = out_dir / WORK_DIR_NAME / source_key(source_url)
        results: dict[str, TableResult] = {}
        resumed: list[str] = []
        problems: list[str] = []
        siard_writer: SiardWriter | None = None
        reread: BackgroundReread | None = None
        extras_dir = work / "extras"
        early_extras: dict[int, package_extras.TableByTable] = {}
        # a failure at any later point: what the extras have started is stopped and deleted
        cleanup.callback(_abandon_all, early_extras)
        try:
            try:
                connection = engine.connect()
            except OperationalError as exc:
                reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
                raise InputError(f"cannot connect to source database {shown}: {reason}") from None
            with connection as conn:
                snapshot = _begin_snapshot(conn)
                product = _database_product(conn)
                catalogue = read_catalogue(conn, exclusions, schemas)
                for sch in catalogue.schemas:
                    sch.tables = [
                        TableSpec(
                            **{
                                **s.__dict__,
                                "retention": retention.for_table(s.key).model_dump(mode="json"),
                            }
                        )
                        for s in sch.tables
                    ]
                specs = catalogue.tables()
                if not specs:
                    raise InputError("the source database has no tables to archive")
                source_inventory = catalogue.inventory()
                archival = _load_or_start_work(
                    work, [s.to_json() for s in specs], archival_date or clock.today()
                )
                if archival_date and archival != archival_date:
                    raise InputError(
                        f"an interrupted run for this source used archival date {archival}; resume "
                        f"with that date or delete {work}"
                    )
                counts = [(s.key, catalogue.row_counts[s.key]) for s in specs]
                progress.planned(counts)
                # the .siard grows table by table; each finished table is re-read while the
                # next one is written, and its XML is then deleted from its folder (the .siard
                # holds it); an interrupted run's .siard is gone on from
                siard_state_file = work / "siard-state.json"
                earlier = _read_json(siard_state_file)
                siard_writer = SiardWriter(work / "archive.siard", resume=earlier)
                in_siard: dict[str, dict[str, list[int]]] = (
                    dict(earlier.get("tables", {})) if siard_writer.resumed and earlier else {}
                )
                order = [s.work_folder for s in specs]
                # the state file's keys are sorted (table10 before table2): put them in the
                # order the tables are written before asking whether they are its beginning
                in_siard = {f: in_siard[f] for f in order if f in in_siard} | {
                    f: v for f, v in in_siard.items() if f not in order
                }
                if list(in_siard) != order[: len(in_siard)] or not all(
                    TableResult.load_if_complete(work / "tables" / f) is not None for f in in_siard
                ):  # not what this run would have written first: start the .siard anew
                    siard_writer.abandon()
                    siard_writer = SiardWriter(work / "archive.siard")
                    in_siard = {}
                _forget_tables_without_xml(work / "tables", in_siard)
                reread = BackgroundReread(executor=reread_executor)
                # extras that work table by table start now, beside the writing
                shutil.rmtree(extras_dir, ignore_errors=True)
                for k, extra in enumerate(extras):
                    start = getattr(extra, "start", None)
                    if start is not None:
                        early_extras[k] = start(extras_dir, [s.name for s in specs])
                for spec in specs:
                    dest = work / "tables" / spec.work_folder
                    earlier_result = TableResult.load_if_complete(dest)
                    if earlier_result is not None:
                        res = earlier_result
                        resumed.append(spec.key)
                        rows, digest = (
                            postgres.digest_table_pg(conn, spec, spec.schema_arg)
                            if fast and postgres.supports(conn, spec)
                            else digest_table(conn, spec, spec.schema_arg)
                        )
                        if (rows, digest) != (res.rows, res.digest):
                            problems.append(
                                f"{spec.key}: the source changed after this table was archived in "
                                "an earlier, interrupted run"
                            )
                        progress.table_done(spec.key, res, True)
                    else:
                        writer = (
                            postgres.write_table_pg
                            if fast and postgres.supports(conn, spec)
                            else write_table
                        )
                        res = writer(
                            conn, spec, spec.schema_arg, dest, lob_limit=lob_limit,
                            schema_folder=spec.schema_folder,
                            progress=_rows_reporter(progress, spec.key),
                        )  # fmt: skip
                        progress.table_done(spec.key, res, False)
                    results[spec.key] = res
                    archived = _archived_table(spec)
                    if spec.work_folder in in_siard:  # already in the .siard kept from that run
                        spans = {k: (v[0], v[1]) for k, v in in_siard[spec.work_folder].items()}
                    else:
                        spans = siard_writer.add_table(dest, spec.schema_folder, spec.folder)
                        in_siard[spec.work_folder] = {k: [o, n] for k, (o, n) in spans.items()}
                        _write_json_atomic(
                            siard_state_file, {**siard_writer.state(), "tables": in_siard}
                        )
                        (dest / f"{spec.folder}.xml").unlink(missing_ok=True)  # now in the .siard
                    reread.submit(siard_writer.part, archived, spans)
                    columns = [c.name for c in spec.columns]
                    for early in early_extras.values():
                        early.table_ready(
                            siard_writer.part, spec.key, archived.entry, columns,
                            *spans[archived.entry],
                        )  # fmt: skip
                    if after_table:
                        after_table(spec.key)
                conn.rollback()
            progress.stage("verifying: re-reading the archive")
            found = reread.results()
        except BaseException:
            if reread is not None:
                reread.close()
            if siard_writer is not None:
                siard_writer.abandon(keep=True)  # a run again goes on from it
            raise
        finally:
            engine.dispose()

        progress.stage("assembling the SIARD archive")
        left_out = [e.line() for e in catalogue.excluded]
        if schemas:
            chosen = ", ".join(s.name for s in catalogue.schemas)
            left_out.append(
                f"every schema not named with --schema (reason: outside the chosen scope; "
                f"decided by the operator of this run; chosen: {chosen})"
            )
        facts_tables = [
            TableFact(s.key, s.folder, results[s.key].rows, results[s.key].digest,
                      retention.for_table(s.key).label())
            for s in specs
        ]  # fmt: skip
        content_id = hashlib.sha256(
            json.dumps([(t.name, t.rows, t.digest) for t in facts_tables]).encode()
        ).hexdigest()
        objid = f"samsa-{uuid.uuid5(uuid.NAMESPACE_URL, f'samsa-decom:{content_id}:{archival}')}"
        final = out_dir / objid
        staging = out_dir / f"{objid}.part"
        shutil.rmtree(staging, ignore_errors=True)
        rep = staging / "representations" / REPRESENTATION
        (rep / "data").mkdir(parents=True)
        siard_name = f"{_safe_name(dbname)}.siard"
        siard_path = rep / "data" / siard_name
        info = ArchiveInfo(
            dbname=dbname,
            description=f"SAMSA IT-tjänst database, archived by {SOFTWARE} ({snapshot}).",
            data_owner=(
                "Västra Götalandsregionen and the 49 municipalities of Västra Götaland "
                "(SAMSA IT-tjänst)"
            ),
            data_origin_timespan=f"until {archival.isoformat()}",
            archival_date=archival,
            producer=f"{SOFTWARE} {SOFTWARE_VERSION}",
            database_product=product,
        )
        meta = metadata_xml(info, catalogue, results)
        assert siard_writer is not None and reread is not None
        siard_writer.finish(meta, SIARD_METADATA_XSD)
        os.replace(siard_writer.target, siard_path)
        expected = {s.key: (results[s.key].rows, results[s.key].digest) for s in specs}
        problems.extend(compare_reread(siard_path, expected, found, reread.tables()))
        held = held_inventory(meta)
        problems.extend(compare_inventories(source_inventory, held))
        verified = not problems
        detail = (
            f"{len(specs)} tables, {sum(r.rows for r in results.values())} rows: counts and "
            f"{ALGORITHM} digests of source and archive match; the archive holds the source's "
            f"whole inventory ({source_inventory.summary()})"
            if verified
            else f"{len(problems)} problem(s): " + "; ".join(problems)
        )

        progress.stage("packaging (E-ARK SIP, METS, PREMIS)")
        extras_dir.mkdir(exist_ok=True)
        extra_files: list[Path] = []
        for k, extra in enumerate(extras):
            if k in early_extras:
                extra_files.extend(early_extras.pop(k).finish(siard_path))
            else:
                extra_files.extend(extra(siard_path, source_url, extras_dir))
        other = staging / "metadata" / "other"
        extra_facts = []
        for f in sorted(extra_files, key=lambda p: p.name):
            other.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, other / f.name)
            extra_facts.append(FileFact.of(other / f.name, f"metadata/other/{f.name}"))

        facts = PackageFacts(
            objid=objid,
            label=f"{dbname} database archive (SIARD 2.2)",
            created=archival_datetime(archival),
            software=SOFTWARE,
            software_version=SOFTWARE_VERSION,
            submitting_agent="Västra Götalandsregionen, SAMSA IT-tjänst (förvaltning GITS)",
            archival_creator="Västra Götalandsregionen och de 49 kommunerna i Västra Götaland",
            preservation_agent="Regionarkivet, Västra Götalandsregionen",
            database_product=product,
            siard_name=siard_name,
            tables=facts_tables,
            verified=verified,
            verification_detail=detail,
            inventory_summary=source_inventory.summary(),
            excluded=left_out,
        )
        siard_fact = FileFact.of(siard_path, f"data/{siard_name}", siard_writer.sha256)
        (rep / "METS.xml").write_bytes(representation_mets(facts, [siard_fact]))
        copy_schemas(staging / "schemas")
        (staging / "metadata" / "descriptive").mkdir(parents=True)
        (staging / "metadata" / "preservation").mkdir(parents=True)
        retention_file = staging / "metadata" / "descriptive" / "retention.xml"
        retention_file.write_bytes(
            retention_xml(facts, str(retention_path or DEFAULT_RETENTION_PATH.name))
        )
        premis_file = staging / "metadata" / "preservation" / "premis.xml"
        premis_file.write_bytes(premis_xml(facts, siard_fact))
        (staging / "documentation").mkdir()
        report = staging / "documentation" / "archive-report.md"
        report.write_bytes(report_md(facts))
        mets = root_mets(
            facts,
            retention=FileFact.of(retention_file, "metadata/descriptive/retention.xml"),
            premis=FileFact.of(premis_file, "metadata/preservation/premis.xml"),
            extras=extra_facts,
            documentation=[FileFact.of(report, "documentation/archive-report.md")],
            schemas=[FileFact.of(staging / "schemas" / n, f"schemas/{n}") for n in SCHEMA_FILES],
            rep_mets=FileFact.of(rep / "METS.xml", f"representations/{REPRESENTATION}/METS.xml"),
        )
        (staging / "METS.xml").write_bytes(mets)
        replace_folder(staging, final)  # the last good copy is never deleted first
        shutil.rmtree(work, ignore_errors=True)
        _remove_if_empty(out_dir / WORK_DIR_NAME)
        return ArchiveOutcome(
            package=final,
            objid=objid,
            mets_sha256=sha256_file(final / "METS.xml"),
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


def _rows_reporter(progress: Progress, table: str) -> Callable[[int], None]:
    def report(done: int) -> None:
        progress.rows(table, done)

    return report


def _shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - unparsable URL: show nothing of it
        return "(unparsable URL)"


def _remove_if_empty(p: Path) -> None:
    try:
        p.rmdir()
    except OSError:
        pass


def _safe_name(name: str) -> str:
    s = "".join(ch if ch.isalnum() else "_" for ch in name).strip("_") or "database"
    return s if s[0].isalpha() else f"db_{s}"


__all__ = ["ArchiveOutcome", "Progress", "archive_database", "verify_siard", "STANDARDS_DIR"]
