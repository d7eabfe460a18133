"""A person's rows from an archive package by reading every row: the plain way, to compare.

:class:`ScanPersonLookup` answers the same questions as
:class:`~tasks.extracts.person_index.archive_lookup.ArchivePersonLookup` without the index, so
tests and benchmarks can check the index gives the same extract (and how much faster).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from models.identity import Identity
from tasks.extracts.person_index.format import PERSON_TABLE
from tasks.extracts.source import TableSpec


class ScanPersonLookup:
    """The plain way, for comparison: read every row of the archive (no index)."""

    label = "archive"

    def __init__(self, package: Path) -> None:
        from tasks.archive.reader import open_siard

        self.arc = open_siard(package)
        self._specs = {
            t.name: TableSpec(t.name, tuple(c.name for c in t.columns)) for t in self.arc.tables()
        }

    def specs(self) -> dict[str, TableSpec]:
        return self._specs

    def _where(self, table: str, column: str, values: Iterable[Any]) -> list[tuple[Any, ...]]:
        keep = set(values)
        i = self._specs[table].columns.index(column)
        return [r for r in self.arc.rows(table) if r[i] in keep]

    def person_rows(self, identity: Identity) -> list[tuple[Any, ...]]:
        return self._where(PERSON_TABLE, "identity", [identity.value])

    def rows_for_persons(self, table: str, person_ids: list[Any]) -> list[tuple[Any, ...]]:
        return self._where(table, "person_id", person_ids) if person_ids else []

    def rows_by_id(self, table: str, ids: Iterable[Any]) -> list[tuple[Any, ...]]:
        return self._where(table, "id", ids)

    def close(self) -> None:
        self.arc.close()
