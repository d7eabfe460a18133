"""A person's rows from an archive package through its person index, in well under a second.

:class:`ArchivePersonLookup` opens the package's .siard and its ``person-index.sqlite``
(refusing an index of an unknown format or written for another .siard), finds a person by the
keyed hash of their identity, and reads each row about them with one ``seek`` + ``read``,
decoded by the archive's own reader. Both index formats are read (2: blocks of persons; 1:
one record per row, in packages made before).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from models.errors import CheckFailed
from models.identity import Identity
from tasks.extracts.person_index.format import (
    FORMAT,
    FORMAT_ONE_ROW_PER_RECORD,
    LOOKUP_TABLES,
    PERSON_TABLE,
    find_index,
    identity_key,
    key_order,
    unpack_places,
)
from tasks.extracts.source import TableSpec


class ArchivePersonLookup:
    """A person's rows from the archive package through its person index."""

    label = "archive"

    def __init__(self, package: Path) -> None:
        from tasks.archive.reader import open_siard

        self.package = package
        self.arc = open_siard(package)
        self.siard = Path(self.arc.path)
        self.index_path = find_index(package, self.siard)
        self.db = sqlite3.connect(f"file:{self.index_path}?mode=ro", uri=True)
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        self.format = meta.get("format")
        if self.format not in (FORMAT, FORMAT_ONE_ROW_PER_RECORD):
            raise CheckFailed(f"{self.index_path}: unknown index format {self.format!r}")
        if int(meta["siard_size"]) != self.siard.stat().st_size:
            raise CheckFailed(
                f"{self.index_path} was written for a different .siard "
                f"({meta['siard_size']} bytes, found {self.siard.stat().st_size})"
            )
        self.salt = bytes.fromhex(meta["salt"])
        self.codes = {n: c for c, n in self.db.execute("SELECT code, name FROM tables")}
        self.file = open(self.siard, "rb")  # noqa: SIM115 - closed in close()
        self._specs = {
            t.name: TableSpec(t.name, tuple(c.name for c in t.columns)) for t in self.arc.tables()
        }

    def specs(self) -> dict[str, TableSpec]:
        return self._specs

    def _read(self, table: str, places: Iterable[tuple[int, int]]) -> list[tuple[Any, ...]]:
        rows = []
        for offset, length in sorted(places):
            self.file.seek(offset)
            rows.append(self.arc.parse_row(table, self.file.read(length)))
        return rows

    def person_rows(self, identity: Identity) -> list[tuple[Any, ...]]:
        found = self.db.execute(
            'SELECT "offset", length FROM person_key WHERE hkey = ?',
            (identity_key(self.salt, identity.value),),
        ).fetchall()
        return self._read(PERSON_TABLE, found)

    def rows_for_persons(self, table: str, person_ids: list[Any]) -> list[tuple[Any, ...]]:
        if not person_ids or table not in self.codes:
            return []
        marks = ",".join("?" * len(person_ids))
        if self.format == FORMAT_ONE_ROW_PER_RECORD:
            found = self.db.execute(
                f'SELECT "offset", length FROM row_loc WHERE tbl = ? AND person_id IN ({marks})',
                (self.codes[table], *person_ids),
            ).fetchall()
            return self._read(table, found)
        wanted = set(person_ids)
        code = self.codes[table]
        segments = [
            s for (s,) in self.db.execute("SELECT DISTINCT seg FROM row_loc WHERE tbl = ?", (code,))
        ]
        places = []
        for person_id in sorted(wanted, key=key_order):
            for seg in segments:  # a person's rows may be in every segment of the table
                block = self.db.execute(
                    "SELECT last_id, places, first_id FROM row_loc WHERE tbl = ? AND seg = ? AND "
                    "first_id <= ? ORDER BY first_id DESC LIMIT 1",
                    (code, seg, person_id),
                ).fetchone()
                if block is None or key_order(block[0]) < key_order(person_id):
                    continue
                if block[0] == person_id == block[2]:  # a block of one person (any id type)
                    places += [(o, n) for _k, o, n in unpack_places(block[1])]
                else:
                    places += [(o, n) for k, o, n in unpack_places(block[1]) if k == person_id]
        return self._read(table, places)

    def rows_by_id(self, table: str, ids: Iterable[Any]) -> list[tuple[Any, ...]]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        if table in LOOKUP_TABLES and table in self.codes:
            marks = ",".join("?" * len(wanted))
            found = self.db.execute(
                f'SELECT "offset", length FROM lookup WHERE tbl = ? AND id IN ({marks})',
                (self.codes[table], *wanted),
            ).fetchall()
            return self._read(table, found)
        id_i = self._specs[table].columns.index("id")
        keep = set(wanted)
        return [r for r in self.arc.rows(table) if r[id_i] in keep]

    def close(self) -> None:
        self.file.close()
        self.db.close()
        self.arc.close()
