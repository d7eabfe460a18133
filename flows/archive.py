"""Archive SAMSA's database: SIARD 2.2 inside an E-ARK SIP, verified before it counts.

The flow reads the whole database in one consistent snapshot, writes every table as SIARD 2.2
(streaming, so memory does not grow with the table), re-reads the archive to compare row
counts and content digests with the source, packages it as an E-ARK CSIP/SIP 2.1 (= FGS
Paketstruktur 2.0) with METS, PREMIS and SHA-256 for every file, and records the package in
the ledger. A run that was stopped resumes where it stopped: finished tables are kept.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.actions import ActionContext, ActionResult
from flows.masking import masked_errors
from models.errors import CheckFailed
from models.ledger import Ledger
from models.settings import SourceUrlParameter, get_settings, refuse_password_in
from tasks.archive.digest import ALGORITHM
from tasks.archive.record import archival_date_of, latest_verified, record_package
from tasks.archive.run import ArchiveOutcome, archive_database
from tasks.archive.writer import TableResult
from tasks.private_files import keep_new_files_private

ARTIFACT_KEY = "samsa-archive-package"


class _PrefectProgress:
    """Shows progress as a Prefect progress artifact (updated at most every 2 seconds)."""

    def __init__(self) -> None:
        self.total = 0
        self.done_tables: dict[str, int] = {}
        self.current: dict[str, int] = {}
        self.artifact_id: Any = None
        self._last = 0.0
        self.log = get_run_logger()

    def _percent(self) -> float:
        done = sum(self.done_tables.values()) + sum(self.current.values())
        return min(99.0, 100.0 * done / self.total) if self.total else 0.0

    def _update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 2.0:
            return
        self._last = now
        if self.artifact_id is None:
            self.artifact_id = create_progress_artifact(
                progress=self._percent(), description="Archiving SAMSA's database (rows written)"
            )
        else:
            update_progress_artifact(self.artifact_id, progress=self._percent())

    def planned(self, tables: list[tuple[str, int]]) -> None:
        self.total = sum(n for _, n in tables) or 1
        self.log.info("archiving %d tables, %d rows", len(tables), self.total)
        self._update(force=True)

    def rows(self, table: str, done: int) -> None:
        self.current[table] = done
        self._update()

    def table_done(self, table: str, result: TableResult, resumed: bool) -> None:
        self.current.pop(table, None)
        self.done_tables[table] = result.rows
        self.log.info(
            "table %s: %d rows %s",
            table,
            result.rows,
            "kept from earlier run" if resumed else "written",
        )
        self._update(force=True)

    def stage(self, name: str) -> None:
        self.log.info("%s", name)

    def finish(self) -> None:
        if self.artifact_id is not None:
            update_progress_artifact(self.artifact_id, progress=100.0)


def summary_markdown(outcome: ArchiveOutcome) -> str:
    """The end-of-run summary: tables, rows, bytes, digests, verdict (no personal data)."""
    verdict = "**verified**" if outcome.verified else "**NOT verified**"
    lines = [
        f"# Archive package `{outcome.objid}`",
        "",
        f"Verdict: {verdict} – {outcome.total_rows:,} rows in {len(outcome.tables)} tables; "
        f".siard {outcome.siard_bytes:,} bytes, SHA-256 `{outcome.siard_sha256}`; "
        f"METS.xml SHA-256 `{outcome.mets_sha256}`; {outcome.seconds:.1f} s.",
        f"Package: `{outcome.package}`",
        "",
    ]
    if outcome.problems:
        lines += ["## Problems", "", *(f"- {p}" for p in outcome.problems), ""]
    if outcome.unclassified_tables:
        lines += [f"Tables without a retention class: {', '.join(outcome.unclassified_tables)}", ""]
    if outcome.resumed_tables:
        lines += [f"Kept from an earlier, interrupted run: {', '.join(outcome.resumed_tables)}", ""]
    lines += [f"| table | rows | retention | digest ({ALGORITHM}) |", "|---|---:|---|---|"]
    lines += [
        f"| {t.name} | {t.rows:,} | {t.retention} | `{t.digest[:16]}…` |" for t in outcome.tables
    ]
    return "\n".join(lines)


@task(name="reread-chunk", cache_policy=NO_CACHE)
@masked_errors
def reread_chunk(work: Callable[[Any], Any], job: Any) -> Any:
    """Re-read one chunk of an archived table: parse, validate against the table's schema,
    digest its rows (the verification that the archive matches the source)."""
    return work(job)


class _TaskRunnerChunks:
    """Runs the engine's re-read chunks as ``reread-chunk`` task runs on the flow's task
    runner (named ``verify-<table>-<n>``), so they show in the UI and spread over its workers."""

    def __init__(self) -> None:
        self._count: Counter[str] = Counter()

    def submit(self, fn: Callable[[Any], Any], arg: Any, /) -> Any:
        table = getattr(arg[1], "table", "table")
        self._count[table] += 1
        name = f"verify-{table}-{self._count[table]}"
        return reread_chunk.with_options(task_run_name=name).submit(fn, arg)


@task(name="write-archive-package")
@masked_errors
def write_archive_package(
    source_url: str | None, out_dir: Path, archival_date: date | None
) -> ArchiveOutcome:
    """Snapshot → SIARD → verification → E-ARK SIP (resumes a stopped run).

    ``source_url`` None: the source from settings, read here so its password stays out of
    Prefect.
    """
    from flows.wiring import PACKAGE_EXTRAS

    progress = _PrefectProgress()
    outcome = archive_database(
        source_url or get_settings().resolved_source_url(),
        out_dir,
        archival_date=archival_date,
        progress=progress,
        reread_executor=_TaskRunnerChunks(),
        extras=PACKAGE_EXTRAS,
    )
    progress.finish()
    return outcome


@flow(
    name="archive-samsa-database",
    log_prints=False,
    task_runner=ThreadPoolTaskRunner(max_workers=2),  # type: ignore[arg-type]
)
@masked_errors
def archive_samsa_database(
    source_url: SourceUrlParameter = None,
    out_dir: str | None = None,
    archival_date: date | None = None,
) -> dict[str, Any]:
    """Archive SAMSA's database as SIARD 2.2 in an E-ARK package, verify it, record it.

    source_url: leave empty: the flow reads SAMSA's database from SAMSA_DECOM_SOURCE_URL. Only
    for a rehearsal on another database, and never with a password in it (refused). out_dir:
    where the package goes (default: the archive folder from settings). archival_date: the
    date written into the package (default: today); a resumed run keeps the date of the first
    attempt. Everything written is readable by samsa-decom's user only.
    """
    from prefect.runtime import flow_run

    keep_new_files_private()
    refuse_password_in(source_url, "source_url")
    settings = get_settings()
    url = source_url or settings.resolved_source_url()
    out = Path(out_dir) if out_dir else settings.resolved_archive_dir()
    outcome = write_archive_package(source_url, out, archival_date)
    ledger = Ledger.open(settings.resolved_ledger_url())
    try:
        record_package(
            ledger,
            outcome,
            source_url=url,
            archival_date=archival_date_of(outcome, archival_date),
            flow_run_id=str(flow_run.id) if flow_run.id else None,
        )
    finally:
        ledger.close()
    create_markdown_artifact(
        key=ARTIFACT_KEY, markdown=summary_markdown(outcome), description="Archive package"
    )
    if not outcome.verified:
        raise CheckFailed(
            f"archive package {outcome.objid} NOT verified: " + "; ".join(outcome.problems)
        )
    return {
        "package": str(outcome.package),
        "objid": outcome.objid,
        "rows": outcome.total_rows,
        "mets_sha256": outcome.mets_sha256,
    }


def archive_action(ctx: ActionContext) -> ActionResult:
    """The reconciler's "archive" action: archive once; later calls see the verified package.

    action_params: ``source_url`` and ``out_dir`` (both optional, default from settings).
    The archive flow reads the source from settings itself: its password never becomes a
    flow parameter.
    """
    settings = get_settings()
    url = ctx.params.get("source_url") or settings.resolved_source_url()
    ledger = Ledger.open(ctx.ledger_url)
    try:
        existing = latest_verified(ledger, url)
    finally:
        ledger.close()
    if existing is not None and Path(existing.path).is_dir():
        from tasks.archive.verify import verify_package

        verdict = verify_package(Path(existing.path), expected_mets_sha256=existing.mets_sha256)
        if verdict.ok:
            return ActionResult(
                done=True,
                summary=(
                    f"already archived and intact: {existing.objid} "
                    f"({existing.total_rows} rows)"
                ),
                details={"package": existing.path, "objid": existing.objid},
            )
    if ctx.rehearse:
        return ActionResult(
            done=False,
            waiting=True,
            summary="rehearsal: would archive the SAMSA database as SIARD 2.2 in an E-ARK SIP",
            details={"rehearsal": True},
        )
    try:
        result = archive_samsa_database(
            source_url=ctx.params.get("source_url"), out_dir=ctx.params.get("out_dir")
        )
    except CheckFailed as exc:
        return ActionResult(done=False, summary=str(exc))
    return ActionResult(
        done=True,
        summary=f"archived and verified: {result['objid']} ({result['rows']} rows)",
        details=result,
    )


if __name__ == "__main__":  # pragma: no cover - run once locally
    print(archive_samsa_database())
