"""Archive commands: ``demo-data`` (synthetic SAMSA database), ``archive`` (SIARD 2.2 in an
E-ARK SIP) and ``verify`` (re-check a package at any later time)."""

from __future__ import annotations

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
) -> None:
    """Create a synthetic SAMSA database (test identities only, marked synthetic)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tasks.demo_data import generate

    target = url or get_settings().resolved_source_url()
    if target.startswith("sqlite:///"):
        Path(target.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("[bold]demo-data"), BarColumn(), TextColumn("{task.completed}/{task.total} persons"),
        TimeElapsedColumn(), console=err, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("persons", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = generate(target, scale=scale, seed=seed, replace=replace, progress=progress)
    rate = report.total_rows / report.seconds if report.seconds else 0.0
    out.print(
        f"synthetic SAMSA database: {report.total_rows:,} rows in {len(report.rows)} tables, "
        f"{report.seconds:.1f} s ({rate:,.0f} rows/s), seed {seed}"
    )


def register(app: typer.Typer) -> None:
    app.command("demo-data")(demo_data)
