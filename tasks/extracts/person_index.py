"""The person index: answering one person's extract from the archive package in well under a
second, without scanning it.

Written at archiving time as a ``PACKAGE_EXTRAS`` entry (``build_person_index``), so it lands in
the package's ``metadata/other/`` and is covered by the package's checksums and METS. It is a
small SQLite file:

- ``meta``: format, the .siard's name and size, and the per-package **salt** (derived from
  the .siard's entries, so the same content gives the same index byte for byte);
- ``person_key``: ``HMAC-SHA256(salt, identity)`` → person id and the row's place. The index
  holds no identity in clear text: it can only answer "where is this person?" for someone who
  already knows the identity;
- ``row_loc``: per table and segment (up to 2 million rows, sorted together), blocks of 64
  person ids (``first_id``…``last_id``) → the places of
  every row about those persons: ``places`` packs, for each person, (person id as i64, count
  as u32) and then ``count`` × (byte offset in the .siard as u64, length as u32),
  little-endian, by offset (table entries are stored
  uncompressed, so a row is one ``seek`` + ``read``). A block, not a record per row, because
  SQLite inserts cost about a microsecond each (format 2; format 1, one record per row, is
  still read);
- ``lookup``: id → place for the small tables an extract names (organisations, users).

Rows are decoded with the archive's own reader (``parse_row``), so values are the ones the
reader gives for a full read.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import struct
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from models.errors import CheckFailed, InputError
from models.identity import Identity
from tasks.extracts.source import TableSpec

try:
    from tasks.archive import _siardc
except ImportError:  # built by pip install where a C compiler is present
    _siardc = None  # type: ignore[assignment]

INDEX_NAME = "person-index.sqlite"
FORMAT = "samsa-person-index/2"
FORMAT_ONE_ROW_PER_RECORD = "samsa-person-index/1"  # packages made before: still read
_KEY = struct.Struct("<qI")  # a person id and how many places follow
_PLACE = struct.Struct("<QI")  # offset, length
KEYS_PER_BLOCK = 64
SEGMENT_ROWS = 2_000_000  # rows sorted in memory at a time (16 bytes each in the C scan)
_LOC_SIZE = 16
PERSON_TABLE = "person"
LOOKUP_TABLES = ("organisation", "user_account")
_CHUNK = 1 << 22


def package_salt(siard: Path) -> bytes:
    """This package's salt: SHA-256 over every entry's name, size and CRC-32 in the .siard.

    It differs from package to package (the content differs) yet is the same for the same
    content, so archiving the same source twice still gives the same package byte for byte.
    """
    h = hashlib.sha256(FORMAT.encode())
    with zipfile.ZipFile(siard) as zf:
        for zi in zf.infolist():
            h.update(f"{zi.filename}\0{zi.file_size}\0{zi.CRC}\n".encode())
    return h.digest()


def identity_key(salt: bytes, identity: str) -> bytes:
    """The keyed hash under which an identity is found in the index."""
    return hmac.digest(salt, identity.encode("ascii"), "sha256")


def _iter_rows(
    f: Any, start: int, size: int, cols: list[int]
) -> Iterator[tuple[int, int, list[bytes | None]]]:
    """``(absolute offset, length, [cell text of each col])`` for every row of a stored entry."""
    tags = [(f"<c{c}>".encode(), f"</c{c}>".encode()) for c in cols]
    pos = 0  # offset in the entry of data[0]
    carry = b""
    f.seek(start)
    remaining = size
    while remaining > 0 or carry:
        chunk = f.read(min(_CHUNK, remaining)) if remaining > 0 else b""
        remaining -= len(chunk)
        data = carry + chunk
        i = 0
        find = data.find
        while True:
            s = find(b"<row>", i)
            if s < 0:
                i = max(i, len(data) - 4)  # a "<row" cut at the chunk's end comes next time
                break
            e = find(b"</row>", s)
            if e < 0:
                i = s
                break
            e += 6
            cells: list[bytes | None] = []
            for open_tag, close_tag in tags:
                a = find(open_tag, s, e)
                if a < 0:
                    cells.append(None)
                    continue
                a += len(open_tag)
                cells.append(data[a : find(close_tag, a, e)])
            yield start + pos + s, e - s, cells
            i = e
        if not chunk:
            break
        carry = data[i:]
        pos += i


def _cell_batches(
    f: Any, start: int, size: int, cols: list[int], skip_absent_first: bool
) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of ``(cell of each col…, absolute offset, length)`` for the rows of a stored
    entry; a cell is an ``int`` (ASCII digits), a ``str`` or ``None`` (absent), as
    :func:`_key` gives it. With the C module the scan is one call per 16 MB."""
    if _siardc is None:
        batch: list[tuple[Any, ...]] = []
        for o, n, cells in _iter_rows(f, start, size, cols):
            row = (*[None if c is None else _key(c) for c in cells], o, n)
            if not (skip_absent_first and row[0] is None):
                batch.append(row)
            if len(batch) >= 10_000:
                yield batch
                batch = []
        yield batch
        return
    carry = b""
    base = start  # absolute offset of data[0]
    f.seek(start)
    remaining = size
    while True:
        chunk = f.read(min(_CHUNK, remaining)) if remaining > 0 else b""
        remaining -= len(chunk)
        data = carry + chunk if carry else chunk
        found, used = _siardc.row_cells(data, base, tuple(cols), skip_absent_first)
        yield found
        if not chunk:
            break
        carry = data[used:]
        base += used


class _KeysNotIntegers(Exception):
    """A key cell that the C scan cannot read as an integer: the table goes the general way."""


def _places_by_key(
    f: Any, start: int, size: int, col: int, use_c: bool = True
) -> Iterator[tuple[int, Any, Any, bytes]]:
    """Blocks ``(segment, first key, last key, places)`` of :data:`KEYS_PER_BLOCK` keys for the
    rows of a stored entry, grouped by the integer in cell ``col`` (rows without it left out),
    by key; ``places`` as in ``row_loc``. Rows are taken :data:`SEGMENT_ROWS` at a time (a
    segment), so memory does not grow with the table. With the C module the rows' (key,
    offset, length) are 16 bytes each, sorted in place and cut into blocks in C; it raises
    :class:`_KeysNotIntegers` for a key that is not an integer."""
    if use_c and _siardc is not None:
        for seg, packed in enumerate(_packed_segments(f, start, size, col)):
            _siardc.sort_locations(packed)
            at = 0
            while True:
                blocks, at = _siardc.block_locations(packed, at, KEYS_PER_BLOCK, 1000)
                if not blocks:
                    break
                for first, last, places in blocks:
                    yield seg, first, last, places
        return
    groups: dict[Any, list[tuple[int, int]]] = {}
    rows = seg = 0
    for batch in _cell_batches(f, start, size, [col], True):
        for key, offset, length in batch:
            groups.setdefault(key, []).append((offset, length))
            rows += 1
            if rows >= SEGMENT_ROWS:
                yield from _blocks_of(seg, groups)
                groups, rows, seg = {}, 0, seg + 1
    if groups:
        yield from _blocks_of(seg, groups)


def _order(key: Any) -> tuple[int, Any]:
    """Keys in SQLite's order: integers before text."""
    return (0, key) if isinstance(key, int) else (1, str(key))


def _blocks_of(
    seg: int, groups: dict[Any, list[tuple[int, int]]]
) -> Iterator[tuple[int, Any, Any, bytes]]:
    keys = sorted(groups, key=_order)
    # keys that are not integers (text ids) get a block each, their packed key 0
    per_block = KEYS_PER_BLOCK if all(type(k) is int for k in keys) else 1
    for b in range(0, len(keys), per_block):
        block = keys[b : b + per_block]
        places = b"".join(
            _KEY.pack(k if per_block > 1 else 0, len(groups[k]))
            + b"".join(_PLACE.pack(o, n) for o, n in sorted(groups[k]))
            for k in block
        )
        yield seg, block[0], block[-1], places


def unpack_places(places: bytes) -> Iterator[tuple[int, int, int]]:
    """``(person id, offset, length)`` of a ``row_loc.places`` value."""
    at = 0
    while at < len(places):
        key, count = _KEY.unpack_from(places, at)
        at += _KEY.size
        for _ in range(count):
            offset, length = _PLACE.unpack_from(places, at)
            at += _PLACE.size
            yield key, offset, length


def _packed_segments(f: Any, start: int, size: int, col: int) -> Iterator[bytearray]:
    """The C scan's records, :data:`SEGMENT_ROWS` at most at a time."""
    packed = bytearray()
    carry = b""
    base = start
    f.seek(start)
    remaining = size
    limit = SEGMENT_ROWS * _LOC_SIZE
    while True:
        chunk = f.read(min(_CHUNK, remaining)) if remaining > 0 else b""
        remaining -= len(chunk)
        data = carry + chunk if carry else chunk
        try:
            found, used = _siardc.locate_rows(data, base, col)
        except ValueError as exc:
            raise _KeysNotIntegers(str(exc)) from None
        packed += found
        if len(packed) >= limit or (not chunk and packed):
            yield packed
            packed = bytearray()
        if not chunk:
            return
        carry = data[used:]
        base += used


def _span(arc: Any, f: Any, entry: str) -> tuple[int, int]:
    """(data offset in the .siard, size) of a stored entry of the open archive ``arc``."""
    info = arc._zip.getinfo(entry)
    f.seek(info.header_offset)
    local = f.read(30)
    if local[:4] != b"PK\x03\x04":
        raise CheckFailed(f"{entry}: no local file header where the ZIP directory says")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    return info.header_offset + 30 + name_len + extra_len, info.file_size


def _key(value: bytes | None) -> int | str | None:
    if value is None:
        return None
    text = value.decode("utf-8")
    return int(text) if text.isdigit() and (text[0] != "0" or len(text) == 1) else text


_SCHEMA = """
    PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE tables(code INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
    CREATE TABLE person_key(hkey BLOB NOT NULL, person_id, "offset" INTEGER, length INTEGER);
    CREATE TABLE row_loc(tbl INTEGER, seg INTEGER, first_id, last_id, places BLOB NOT NULL);
    CREATE TABLE lookup(tbl INTEGER, id, "offset" INTEGER, length INTEGER,
                        PRIMARY KEY (tbl, id)) WITHOUT ROWID;
"""


class PersonIndexBuilder:
    """Builds ``person-index.sqlite`` table by table: :meth:`table_ready` as soon as a table's
    entry is in the .siard (row places need only its bytes and where they sit), :meth:`finish`
    once the .siard is complete (the keyed hashes of the identities need the package's salt,
    which depends on every entry). The archive run calls it while the next tables are written;
    :func:`build_person_index` calls it for a finished .siard; both give the same file.

    One worker thread owns the SQLite connection, so the scans and inserts run beside the
    caller. Until :meth:`finish`, identities wait in a separate file in ``work_dir``, deleted
    by :meth:`finish` or :meth:`abandon`; the index itself never holds one.
    """

    def __init__(self, work_dir: Path, table_names: Iterable[str]) -> None:
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
        con.executescript(_SCHEMA)
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
                for batch in _cell_batches(f, start, size, want, True):
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
                    con.executemany(insert, _places_by_key(f, start, size, key_col))
                except _KeysNotIntegers:
                    con.execute("DELETE FROM row_loc WHERE tbl = ?", (code,))
                    con.executemany(insert, _places_by_key(f, start, size, key_col, False))
            if name in LOOKUP_TABLES and "id" in cols:
                for batch in _cell_batches(f, start, size, [cols.index("id") + 1], False):
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
                if _span(arc, f, entry) != (offset, size):
                    raise CheckFailed(f"{siard.name}: {entry} moved after it was indexed")

    def _complete(self, siard: Path) -> None:
        con = self._con
        assert con is not None
        salt = package_salt(siard)
        con.create_function(
            "keyed", 1, lambda identity: identity_key(salt, identity), deterministic=True
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
            "salt": salt.hex(),
            "key": "HMAC-SHA256(salt, canonical 12-character identity)",
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


def build_person_index(siard_path: Path, source_url: str, work_dir: Path) -> list[Path]:
    """PACKAGE_EXTRAS entry: write ``person-index.sqlite`` for the finished .siard at
    ``siard_path`` (the archive run itself uses :class:`PersonIndexBuilder` table by table).

    ``source_url`` is not used: the index is read from the archive itself, so it addresses
    exactly the bytes that are preserved.
    """
    from tasks.archive.reader import open_siard

    with open_siard(siard_path) as arc, open(siard_path, "rb") as f:
        tables = arc.tables()
        builder = PersonIndexBuilder(work_dir, [t.name for t in tables])
        try:
            for t in tables:
                offset, size = _span(arc, f, t.entry)
                columns = [c.name for c in t.columns]
                builder.table_ready(siard_path, t.name, t.entry, columns, offset, size)
        except BaseException:
            builder.abandon()
            raise
    return builder.finish(siard_path)


def find_index(package: Path, siard: Path) -> Path:
    """The person index of a package: ``metadata/other/person-index.sqlite`` of the package
    root (or beside the .siard)."""
    candidates = [siard.parent / INDEX_NAME]
    if package.is_dir():
        candidates.insert(0, package / "metadata" / "other" / INDEX_NAME)
    candidates += [p / "metadata" / "other" / INDEX_NAME for p in siard.parents]
    for c in candidates:
        if c.exists():
            return c
    raise InputError(
        f"{package}: no person index ({INDEX_NAME}); it is written when the package is archived"
    )


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
        for person_id in sorted(wanted, key=_order):
            for seg in segments:  # a person's rows may be in every segment of the table
                block = self.db.execute(
                    "SELECT last_id, places, first_id FROM row_loc WHERE tbl = ? AND seg = ? AND "
                    "first_id <= ? ORDER BY first_id DESC LIMIT 1",
                    (code, seg, person_id),
                ).fetchone()
                if block is None or _order(block[0]) < _order(person_id):
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
