"""A person's rows from an archive package through its person index, in well under a second.

:class:`ArchivePersonLookup` opens the package's .siard and its ``person-index.sqlite``
(refusing an index of an unknown format or written for another .siard), finds a person by the
keyed hash of their identity, and reads each row about them with one ``seek`` + ``read``,
decoded by the archive's own reader. Every index format is read (3: keyed with the secret
index key; 2: blocks of persons, salt stored in the package; 1: one record per row).

The person is found by the hash only when the configured index key
(``SAMSA_DECOM_PERSON_INDEX_KEY``) is the one the package records. Without it, with another
key, or with an index built without one, the lookup reads the package's person table instead
(slower, the same answer) and says so: :attr:`ArchivePersonLookup.fallback` holds the reason,
which is also logged, without any identity.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from models.errors import CheckFailed
from models.identity import Identity
from tasks.extracts.person_index.format import (
    FORMAT,
    FORMAT_ONE_ROW_PER_RECORD,
    FORMAT_SALT_IN_PACKAGE,
    LOOKUP_TABLES,
    PERSON_TABLE,
    configured_key,
    find_index,
    identity_key,
    key_id,
    key_order,
    package_key,
    unpack_places,
)
from tasks.extracts.source import TableSpec

log = logging.getLogger(__name__)


class ArchivePersonLookup:
    """A person's rows from the archive package through its person index."""

    label = "archive"

    def __init__(self, package: Path, index_key: bytes | None = None) -> None:
        """``index_key``: the secret the package's person hashes were keyed with (default:
        from settings)."""
        from tasks.archive.reader import open_siard

        self.package = package
        self.arc = open_siard(package)
        self.siard = Path(self.arc.path)
        self.index_path = find_index(package, self.siard)
        self.db = sqlite3.connect(f"file:{self.index_path}?mode=ro", uri=True)
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        self.format = meta.get("format")
        if self.format not in (FORMAT, FORMAT_SALT_IN_PACKAGE, FORMAT_ONE_ROW_PER_RECORD):
            raise CheckFailed(f"{self.index_path}: unknown index format {self.format!r}")
        if int(meta["siard_size"]) != self.siard.stat().st_size:
            raise CheckFailed(
                f"{self.index_path} was written for a different .siard "
                f"({meta['siard_size']} bytes, found {self.siard.stat().st_size})"
            )
        self.key, self.fallback = self._person_key(meta, index_key or configured_key())
        if self.fallback:
            log.warning("%s: %s", self.index_path, self.fallback)
        self.codes = {n: c for c, n in self.db.execute("SELECT code, name FROM tables")}
        self.file = open(self.siard, "rb")  # noqa: SIM115 - closed in close()
        self._specs = {
            t.name: TableSpec(t.name, tuple(c.name for c in t.columns)) for t in self.arc.tables()
        }

    def _person_key(self, meta: dict[str, str], index_key: bytes | None) -> tuple[
        bytes | None, str | None
    ]:
        """The key this package's person hashes answer to, or None and why not."""
        if self.format != FORMAT:
            return bytes.fromhex(meta["salt"]), None
        wanted = meta.get("key_id", "")
        scan = "a person is found by reading the package's person table (slower, same answer)"
        if not wanted:
            return None, f"the index was built without an index key: {scan}"
        if index_key is None:
            return None, (f"the index needs index key {wanted} and SAMSA_DECOM_PERSON_INDEX_KEY "
                          f"is not set: {scan}")  # fmt: skip
        if key_id(index_key) != wanted:
            return None, (f"the index needs index key {wanted}, SAMSA_DECOM_PERSON_INDEX_KEY is "
                          f"key {key_id(index_key)}: {scan}")  # fmt: skip
        return package_key(index_key, self.siard), None

    def specs(self) -> dict[str, TableSpec]:
        return self._specs

    def _read(self, table: str, places: Iterable[tuple[int, int]]) -> list[tuple[Any, ...]]:
        rows = []
        for offset, length in sorted(places):
            self.file.seek(offset)
            rows.append(self.arc.parse_row(table, self.file.read(length)))
        return rows

    def person_rows(self, identity: Identity) -> list[tuple[Any, ...]]:
        if self.key is None:
            at = self._specs[PERSON_TABLE].columns.index("identity")
            return [r for r in self.arc.rows(PERSON_TABLE) if r[at] == identity.value]
        found = self.db.execute(
            'SELECT "offset", length FROM person_key WHERE hkey = ?',
            (identity_key(self.key, identity.value),),
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
