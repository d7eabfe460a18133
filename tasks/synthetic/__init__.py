"""The synthetic SAMSA database: a seeded, deterministic rehearsal copy of SAMSA's content.

``generate(url, scale=N, seed=S)`` creates the SAMSA source schema (models/source.py) in the
database at ``url`` (SQLite, PostgreSQL or MariaDB/MySQL) and fills it with about ``N`` rows in
total: the 49 municipalities by sub-region, VGR hospitals and health centres, private providers,
users and access rights, monthly statistics (:mod:`~tasks.synthetic.organisations`); persons
with valid identity numbers (which may be real people's: the database stays on this machine,
:mod:`~tasks.synthetic.local`), some protected, their consents and the access log
(:mod:`~tasks.synthetic.persons`); care episodes that follow the 24-hour rule of
Lag (2017:612), messages, attachments, SIP plans with participants and actions
(:mod:`~tasks.synthetic.care`). Free text deliberately contains what breaks naive archivers
(:mod:`~tasks.synthetic.vocabulary`). Rows go in through the fastest ordinary path
(:mod:`~tasks.synthetic.writers`).

Same seed and scale give the same database, value for value: everything is drawn from one
seeded random source in a fixed order (:mod:`~tasks.synthetic.draw`). It is test data, used by
``samsa-decom demo-data``, by ``samsa-decom up`` on first start, and by tests and benchmarks;
the product's capabilities never read it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine

from models.errors import InputError
from models.source import TABLE_ORDER
from tasks.synthetic.draw import Batch, Draw
from tasks.synthetic.local import require_local_target
from tasks.synthetic.organisations import organisations, reference_rows
from tasks.synthetic.persons import Persons
from tasks.synthetic.writers import prepare_schema, row_writer

GENERATOR = "samsa-decom demo-data 1"

#: About this many rows are generated per person (all tables together); scale / this = persons.
ROWS_PER_PERSON = 19


@dataclass(frozen=True)
class GenerationReport:
    """What was generated: rows per table and the time it took."""

    url_dialect: str
    seed: int
    scale: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def generate(url: str, *, scale: int, seed: int, replace: bool = False,
             progress: Callable[[int, int], None] | None = None,
             allow_remote: bool = False) -> GenerationReport:  # fmt: skip
    """Create and fill a synthetic SAMSA database at ``url`` with about ``scale`` rows.

    ``progress(done_persons, total_persons)`` is called after each batch. A server that is
    not on this machine's loopback is refused unless ``allow_remote``
    (:func:`~tasks.synthetic.local.require_local_target`).
    """
    require_local_target(url, allow_remote=allow_remote)
    if scale < 1:
        raise InputError(f"scale must be at least 1 (got {scale})")
    t0 = time.perf_counter()
    engine = create_engine(url)
    try:
        dialect = engine.dialect.name
        prepare_schema(engine, replace)
        draw = Draw(seed)
        orgs = organisations()
        stats = 49 * 4 * max(1, min(90, scale // (10 * 49 * 4)))
        persons = max(20, (scale - stats) // ROWS_PER_PERSON)
        write, finish = row_writer(engine)
        counts = {t: 0 for t in TABLE_ORDER}

        def emit(batch: Batch) -> None:
            for t in TABLE_ORDER:
                write(t, batch[t])
                counts[t] += len(batch[t])

        reference, users = reference_rows(draw, orgs, scale, persons)
        reference["dataset_info"].append(_dataset_info(seed, scale))
        emit(reference)
        done = 0
        for batch in Persons(draw, orgs, users, persons).person_batches():
            emit(batch)
            done += len(batch["person"])
            if progress:
                progress(done, persons)
        finish()
    finally:
        engine.dispose()
    return GenerationReport(dialect, seed, scale, counts, time.perf_counter() - t0)


def _dataset_info(seed: int, scale: int) -> tuple[Any, ...]:
    """The row marking the database as synthetic (``--replace`` replaces only such)."""
    generated_at = datetime(2026, 7, 1, tzinfo=UTC) + timedelta(seconds=seed % 86400)
    note = "SYNTETISK testdatabas – inga verkliga personer. Synthetic rehearsal data."
    return (1, True, seed, scale, generated_at, GENERATOR, note)
