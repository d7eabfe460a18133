"""Building ``person-index.sqlite`` for an archive package, table by table as the .siard grows.

:class:`PersonIndexBuilder` is given each table as soon as its entry is in the .siard (the
archive run calls it while the next tables are written) and completes the index once the
.siard is complete; :func:`build_person_index` is the ``PACKAGE_EXTRAS`` entry that does the
same for a finished .siard. Both give the same file, byte for byte. Identities wait in a
separate file until the package's salt is known and never enter the index in clear text; they
enter it only as hashes under the secret index key (``SAMSA_DECOM_PERSON_INDEX_KEY``), whose id
the index records. Without a key the index holds no person hashes (only row places), and a
lookup reads the package's person table instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from models.errors import CheckFailed
from tasks.extracts.person_index.format import (
    FORMAT,
    INDEX_NAME,
    LOOKUP_TABLES,
    PERSON_TABLE,
    SCHEMA,
    configured_key,
    identity_key,
    key_id,
    package_key,
)
from tasks.extracts.person_index.rows import (
    KeysNotIntegers,
    cell_batches,
    entry_span,
    places_by_key,
)


class PersonIndexBuilder:
    """Builds ``person-index.sqlite`` table by table: :meth:`table_ready` as soon as a table's
    entry is in the .siard (row places need only its bytes and where they sit), :meth:`finish`
    once the .siard is complete (the keyed hashes of the identities need the package's salt,
    which depends on every entry). The archive run calls it while the next tables are written;
    :func:`build_person_index` calls it for a finished .siard; both give the same file.

    One worker thread owns the SQLite connection, so the scans and inserts run beside the
    caller. Until :meth:`finish`, identities wait in a separate file in ``work_dir``, deleted
    by :meth:`finish` or :meth:`abandon`; the index itself never holds one. ``index_key``:
    the secret the person hashes are keyed with (default: from settings; None there too: no
    person hashes).
    """

    def __init__(
        self, work_dir: Path, table_names: Iterable[str], index_key: bytes | None = None
    ) -> None:
        self.index_key = index_key or configured_key()
        names = sorted(table_names)
        self.active = PERSON_TABLE in names
        self.work_dir = work_dir
        self.part = work_dir / (INDEX_NAME + ".part")
        self.pending_ids = work_dir / "person-identities.tmp"
        self.codes = {name: code for code, name in enumerate(names)}
        self.spans: dict[str, tuple[str, int, int]] = {}  # table → (entry, offset, size)
        self._futures: list[Future[None]] = []
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="person-index")
        self._con: sqlite3.Connection | None = None
        if self.active:
            work_dir.mkdir(parents=True, exist_ok=True)
            self._run(self._create).result()

    def _run(self, fn: Any, *args: Any) -> Future[None]:
        return self._pool.submit(fn, *args)

    def _create(self) -> None:
        for p in (self.part, self.pending_ids):
            p.unlink(missing_ok=True)
        con = self._con = sqlite3.connect(self.part, check_same_thread=False)
        con.executescript(SCHEMA)
        con.executemany("INSERT INTO tables VALUES (?, ?)", [(c, n) for n, c in self.codes.items()])
        con.execute("ATTACH DATABASE ? AS pending", (str(self.pending_ids),))
        con.execute(
            'CREATE TABLE pending.person(identity TEXT, person_id, "offset" INTEGER, '
            "length INTEGER)"
        )

    def table_ready(
        self, siard: Path, name: str, entry: str, columns: list[str], offset: int, size: int
    ) -> None:
        """Index table ``name`` whose entry ``entry`` is ``size`` bytes at ``offset`` of the
        (possibly still growing) file ``siard``."""
        if not self.active or not (
            name == PERSON_TABLE or "person_id" in columns or name in LOOKUP_TABLES
        ):
            return
        self.spans[name] = (entry, offset, size)
        f = open(siard, "rb")  # noqa: SIM115 - now: the file may be renamed before it is read
        self._futures.append(self._run(self._index_table, f, name, columns, offset, size))

    def _index_table(self, f: Any, name: str, cols: list[str], start: int, size: int) -> None:
        con = self._con
        assert con is not None
        code = int(self.codes[name])
        with f:
            if name == PERSON_TABLE:
                want = [cols.index("identity") + 1, cols.index("id") + 1]
                for batch in cell_batches(f, start, size, want, True):
                    con.executemany(
                        "INSERT INTO pending.person VALUES (?, ?, ?, ?)",
                        [(str(ident).strip(), pid, o, n) for ident, pid, o, n in batch],
                    )
            elif "person_id" in cols:
                insert = (
                    f"INSERT INTO row_loc(seg, first_id, last_id, places, tbl) "
                    f"VALUES (?, ?, ?, ?, {code})"
                )
                key_col = cols.index("person_id") + 1
                try:
                    con.executemany(insert, places_by_key(f, start, size, key_col))
                except KeysNotIntegers:
                    con.execute("DELETE FROM row_loc WHERE tbl = ?", (code,))
                    con.executemany(insert, places_by_key(f, start, size, key_col, False))
            if name in LOOKUP_TABLES and "id" in cols:
                for batch in cell_batches(f, start, size, [cols.index("id") + 1], False):
                    con.executemany(
                        f'INSERT OR REPLACE INTO lookup(id, "offset", length, tbl) '
                        f"VALUES (?, ?, ?, {code})",
                        batch,
                    )

    def finish(self, siard: Path) -> list[Path]:
        """Complete the index for the finished ``siard`` (same entries at the same places as
        when the tables were given); returns ``[index file]``, or ``[]`` without persons."""
        try:
            for f in self._futures:
                f.result()
            if not self.active:
                return []
            self._check_places(siard)
            self._run(self._complete, siard).result()
        except BaseException:
            self.abandon()
            raise
        self._pool.shutdown()
        out = self.work_dir / INDEX_NAME
        self.part.replace(out)
        return [out]

    def _check_places(self, siard: Path) -> None:
        from tasks.archive.reader import open_siard

        with open_siard(siard) as arc, open(siard, "rb") as f:
            names = {t.name for t in arc.tables()}
            if PERSON_TABLE not in names or set(self.codes) != names:
                raise CheckFailed(f"{siard.name}: not the tables the person index was given")
            for entry, offset, size in self.spans.values():
                if entry_span(arc, f, entry) != (offset, size):
                    raise CheckFailed(f"{siard.name}: {entry} moved after it was indexed")

    def _complete(self, siard: Path) -> None:
        con = self._con
        assert con is not None
        if self.index_key is not None:
            key = package_key(self.index_key, siard)
            con.create_function(
                "keyed", 1, lambda identity: identity_key(key, identity), deterministic=True
            )
            con.execute(
                'INSERT INTO person_key SELECT keyed(identity), person_id, "offset", length '
                "FROM pending.person ORDER BY rowid"
            )
        con.commit()
        con.execute("DETACH DATABASE pending")
        self.pending_ids.unlink(missing_ok=True)
        # keyed hashes are random: one sort at the end instead of a random insert per person
        con.execute("CREATE UNIQUE INDEX ix_person_key ON person_key(hkey)")
        con.execute("CREATE UNIQUE INDEX ix_row_loc ON row_loc(tbl, seg, first_id)")
        meta = {
            "format": FORMAT,
            "siard_name": siard.name,
            "siard_size": str(siard.stat().st_size),
            "key_id": key_id(self.index_key) if self.index_key is not None else "",
            "key": "HMAC-SHA256(HMAC-SHA256(index key, package salt), 12-character identity)",
        }
        con.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        con.commit()
        con.close()
        self._con = None

    def abandon(self) -> None:
        """Stop, and delete what was written."""

        def close() -> None:
            if self._con is not None:
                self._con.close()
                self._con = None

        for f in self._futures:
            f.cancel()
        try:
            self._run(close).result()
        except RuntimeError:  # the pool is already shut down
            close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for p in (self.part, self.pending_ids):
            p.unlink(missing_ok=True)


def build_person_index(
    siard_path: Path, source_url: str, work_dir: Path, index_key: bytes | None = None
) -> list[Path]:
    """PACKAGE_EXTRAS entry: write ``person-index.sqlite`` for the finished .siard at
    ``siard_path`` (the archive run itself uses :class:`PersonIndexBuilder` table by table).

    ``source_url`` is not used: the index is read from the archive itself, so it addresses
    exactly the bytes that are preserved.
    """
    from tasks.archive.reader import open_siard

    with open_siard(siard_path) as arc, open(siard_path, "rb") as f:
        tables = arc.tables()
        builder = PersonIndexBuilder(work_dir, [t.name for t in tables], index_key)
        try:
            for t in tables:
                offset, size = entry_span(arc, f, t.entry)
                columns = [c.name for c in t.columns]
                builder.table_ready(siard_path, t.name, t.entry, columns, offset, size)
        except BaseException:
            builder.abandon()
            raise
    return builder.finish(siard_path)


class PersonIndexExtra:
    """The person index as an extra of the archive package (see :mod:`tasks.archive.extras`):
    built table by table while the archive is written, or from the finished .siard."""

    def __call__(self, siard: Path, source_url: str, work_dir: Path) -> list[Path]:
        return build_person_index(siard, source_url, work_dir)

    def start(self, work_dir: Path, table_names: list[str]) -> PersonIndexBuilder:
        return PersonIndexBuilder(work_dir, table_names)
