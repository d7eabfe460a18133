"""The one random source the synthetic database is drawn from, and the ids it hands out.

Every value comes from one seeded :class:`random.Random`, drawn in a fixed order, so the same
seed and scale give the same database value for value: a change in the order of draws (in any
module of :mod:`tasks.synthetic`) changes the database. Rows are gathered per table in a
:data:`Batch` and written table by table in ``TABLE_ORDER``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from models.source import TABLE_ORDER
from tasks.synthetic.vocabulary import FAMILY, GIVEN, FreeText

#: Rows of one batch, by table.
Batch = dict[str, list[tuple[Any, ...]]]

EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_SECONDS = int((datetime(2026, 6, 30, tzinfo=UTC) - EPOCH).total_seconds())


def empty_batch() -> Batch:
    return {t: [] for t in TABLE_ORDER}


class Draw:
    """The seeded random source, free text drawn from it, and the next id of each table."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.text = FreeText(self.rng)
        self.ids: dict[str, int] = {t: 0 for t in TABLE_ORDER}

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def moment(self) -> datetime:
        """A moment between 2019-01-01 and 2026-06-30 (UTC, microseconds)."""
        rng = self.rng
        return EPOCH + timedelta(
            seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(1000000)
        )

    def name(self) -> str:
        """A given name and a family name."""
        rng = self.rng
        return f"{GIVEN[rng.randrange(len(GIVEN))]} {FAMILY[rng.randrange(len(FAMILY))]}"
