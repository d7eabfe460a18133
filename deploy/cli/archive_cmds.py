"""Archive commands: ``demo-data`` (synthetic SAMSA database), ``archive`` (SIARD 2.2 in an
E-ARK SIP) and ``verify`` (re-check a package at any later time)."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from models.settings import get_settings

out = Console()
err = Console(stderr=True)


def demo_data(
    url: str = typer.Option(None, "--url", help="SQLAlchemy URL to write (default: settings)."),
    scale: int = typer.Option(100_000, "--scale", help="About this many rows in total."),
    seed: int = typer.Option(1, "--seed", help="Same seed and scale, same database."),
    replace: bool = typer.Option(
        False, "--replace", help="Drop and regenerate an existing SYNTHETIC database."
    ),
    allow_remote: bool = typer.Option(
        False, "--allow-remote",
        help="Write to a server that is not this machine (only an isolated test server).",
    ),  # fmt: skip
) -> None:
    """Create a synthetic SAMSA database, marked synthetic, on this machine only.

    Its identity numbers are valid and may be real people's (no number range is safe), so it
    is written only to SQLite or a server on 127.0.0.1/localhost unless --allow-remote.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tasks.synthetic import generate
    from tasks.synthetic.local import require_local_target

    target = url or get_settings().resolved_source_url()
    require_local_target(target, allow_remote=allow_remote)  # before the folder is made
    if target.startswith("sqlite:///"):
        Path(target.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("[bold]demo-data"), BarColumn(),
        TextColumn("{task.completed}/{task.total} persons"),
        TimeElapsedColumn(), console=err, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("persons", total=0)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = generate(target, scale=scale, seed=seed, replace=replace, progress=progress,
                          allow_remote=allow_remote)  # fmt: skip
    rate = report.total_rows / report.seconds if report.seconds else 0.0
    out.print(
        f"synthetic SAMSA database: {report.total_rows:,} rows in {len(report.rows)} tables, "
        f"{report.seconds:.1f} s ({rate:,.0f} rows/s), seed {seed}"
    )


class _RichProgress:
    """The archive's progress as a rich bar (rows of all tables)."""

    def __init__(self, bar) -> None:  # type: ignore[no-untyped-def]
        self.bar = bar
        self.task = bar.add_task("reading the source", total=0)
        self.done = 0
        self.current = 0

    def planned(self, tables: list[tuple[str, int]]) -> None:
        self.bar.update(self.task, total=sum(n for _, n in tables) or 1)

    def rows(self, table: str, done: int) -> None:
        self.current = done
        self.bar.update(self.task, completed=self.done + done, description=table)

    def table_done(self, table: str, result, resumed: bool) -> None:  # type: ignore[no-untyped-def]
        self.done += result.rows
        self.current = 0
        self.bar.update(self.task, completed=self.done, description=table)

    def stage(self, name: str) -> None:
        self.bar.update(self.task, description=name)


def _check_archive_input(url: str, given: bool, target: Path, out_given: bool) -> None:
    """Refuse, before anything is written, a source that is no database URL and a package
    folder that cannot be made (one line naming the option; the URL is not echoed, it may
    hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from models.errors import InputError

    where = "--source" if given else "the source URL in the settings (SAMSA_DECOM_SOURCE_URL)"
    try:
        make_url(url)
    except ArgumentError:
        raise InputError(
            f"{where}: not a database URL (expected e.g. sqlite:///samsa.db or "
            "postgresql://host/samsa)"
        ) from None
    name = f"--out {target}" if out_given else f"the archive folder {target} (settings)"
    if target.exists() and not target.is_dir():
        raise InputError(f"{name}: exists and is not a folder")
    existing = next((p for p in (target, *target.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise InputError(f"{name}: cannot be created ({existing} is not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{name}: cannot be created ({existing} is not writable)")


def archive(
    source: str = typer.Option(None, "--source", help="SQLAlchemy URL of the database."),
    out: Path = typer.Option(None, "--out", help="Folder for the package (default: settings)."),  # noqa: B008
    archival_date: str = typer.Option(
        None, "--date", help="Archival date YYYY-MM-DD (default: today; kept on resume)."
    ),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default: settings)."),
    schema: list[str] = typer.Option(  # noqa: B008
        None, "--schema",
        help="Archive only this schema (MariaDB/MySQL: database); repeat for more. Default: all.",
    ),  # fmt: skip
    exclusions: Path = typer.Option(  # noqa: B008
        None, "--exclusions",
        help="What is left out on purpose (default: deploy/plan/archive-exclusions.yaml).",
    ),  # fmt: skip
    retention: Path = typer.Option(  # noqa: B008
        None, "--retention",
        help="Bevarande och gallring per tabell × organisationsslag "
        "(default: deploy/plan/retention.yaml).",
    ),  # fmt: skip
) -> None:
    """Archive a database as SIARD 2.2 in an E-ARK SIP; the last line printed is the package.

    The source's whole catalogue is read first; a column the archive cannot hold stops the run
    with the full list (exit 2) before anything is written. Running it again on the same --out
    resumes an interrupted run.
    """
    from datetime import date

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.package_extras import PACKAGE_EXTRAS  # not flows.wiring: no Prefect import
    from models.errors import CheckFailed, InputError
    from models.ledger import Ledger
    from tasks.archive.record import archival_date_of, record_package
    from tasks.archive.retention import load_retention
    from tasks.archive.run import archive_database

    settings = get_settings()
    url = source or settings.resolved_source_url()
    target = out or settings.resolved_archive_dir()
    try:
        when = date.fromisoformat(archival_date) if archival_date else None
    except ValueError:
        raise InputError(f"--date {archival_date!r} is not a date (YYYY-MM-DD)") from None
    _check_archive_input(url, source is not None, Path(target), out is not None)
    load_retention(retention)  # a disposal without a gallringsbeslut stops here, nothing written
    with Ledger.open(ledger_url or settings.resolved_ledger_url()) as ledger:  # checked first
        with Progress(
            TextColumn("[bold]{task.description:<28}"), BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} rows"), TimeElapsedColumn(),
            console=err, transient=True,
        ) as bar:  # fmt: skip
            outcome = archive_database(
                url, target, archival_date=when, progress=_RichProgress(bar),
                schemas=list(schema) if schema else None, exclusions_path=exclusions,
                extras=PACKAGE_EXTRAS, retention_path=retention,
            )  # fmt: skip
        record_package(
            ledger, outcome, source_url=url, archival_date=archival_date_of(outcome, when)
        )
    verdict = "verified" if outcome.verified else "NOT VERIFIED"
    counts = outcome.inventory.counts()
    err.print(
        f"{verdict}: {outcome.total_rows:,} rows in {len(outcome.tables)} tables, "
        f"{counts['schemas']} schemas, {counts['views']} views, {counts['columns']} columns, "
        f".siard {outcome.siard_bytes:,} bytes, {outcome.seconds:.1f} s"
        + (
            f" (kept {len(outcome.resumed_tables)} tables from an earlier run)"
            if outcome.resumed_tables
            else ""
        ),
        soft_wrap=True,
    )
    for problem in outcome.problems:
        err.print(f"  - {problem}", highlight=False)
    for left_out in outcome.excluded:
        err.print(f"  excluded on purpose: {left_out}", highlight=False)
    print(outcome.package)
    if not outcome.verified:
        raise CheckFailed(f"package {outcome.objid} was made but NOT verified")


def verify(
    package: Path = typer.Argument(..., help="The package folder to check."),  # noqa: B008
    deep: bool = typer.Option(
        False, "--deep", help="Also re-read the SIARD archive and compare counts and digests."
    ),
    schemas: bool = typer.Option(
        False,
        "--schemas",
        help="With --deep: also validate every table file against its XSD (libxml2; slower).",
    ),
    ledger_url: str = typer.Option(None, "--ledger", help="Ledger URL (default: settings)."),
) -> None:
    """Check a package: exit 0 when intact, 1 naming every damaged, missing or unexpected file."""
    from models.errors import CheckFailed, InputError
    from tasks.archive.file_digests import digests_for

    if not package.exists():
        raise InputError(f"{package}: no such package folder")
    if schemas and not deep:
        raise InputError("--schemas goes with --deep (it validates what the re-read reads)")
    # the files are hashed on threads while the ledger is opened (its import alone ~0.4 s),
    # from the start of the process when it was started as `samsa-decom verify PACKAGE`
    with digests_for(package) as digests:
        from models.ledger import Ledger
        from tasks.archive.record import find_package
        from tasks.archive.verify import verify_package

        with Ledger.open(ledger_url or get_settings().resolved_ledger_url()) as ledger:
            record = find_package(ledger, package)
        expected = record.mets_sha256 if record is not None else None
        verdict = verify_package(
            package, deep=deep, expected_mets_sha256=expected, schemas=schemas, digests=digests
        )
    if not verdict.ok:
        for problem in verdict.problems:
            err.print(str(problem), highlight=False, soft_wrap=True)
        raise CheckFailed(f"{package.name}: {len(verdict.problems)} problem(s) found")
    extra = f", {verdict.tables_checked} tables re-read" if deep else ""
    extra += " and validated against their XSDs" if schemas else ""
    known = "METS.xml matches the ledger" if expected else "package not in this ledger"
    out.print(f"intact: {verdict.files_checked} files checked{extra}; {known}")


def register(app: typer.Typer) -> None:
    app.command("demo-data")(demo_data)
    app.command("archive")(archive)
    app.command("verify")(verify)
