"""Finding the place of every row in a stored .siard table entry, without parsing its XML.

A table entry is stored uncompressed, so a row is a byte range of the .siard. The scanners
here read an entry in chunks and give each row's (offset, length) with the cells the index
needs: :func:`cell_batches` (the cells of some columns) and :func:`places_by_key` (rows
grouped by person id into blocks of :data:`KEYS_PER_BLOCK` persons, :data:`SEGMENT_ROWS` rows
sorted at a time so memory does not grow with the table: exactly that many rows with a key a
segment, so the C and the Python scans give the same index whatever their reads). Where the
C module ``tasks.archive._siardc`` is built, the scan, the sort and the blocking run in C; otherwise
in Python, with the same results. :func:`entry_span` finds where an entry's bytes sit.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import Any

from models.errors import CheckFailed
from tasks.extracts.person_index.format import PACKED_KEY, PACKED_PLACE, key_order

try:
    from tasks.archive import _siardc
except ImportError:  # built by pip install where a C compiler is present
    _siardc = None  # type: ignore[assignment]

KEYS_PER_BLOCK = 64
SEGMENT_ROWS = 2_000_000  # rows sorted in memory at a time (16 bytes each in the C scan)
_LOC_SIZE = 16
_CHUNK = 1 << 22


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


def cell_batches(
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


class KeysNotIntegers(Exception):
    """A key cell that the C scan cannot read as an integer: the table goes the general way."""


def places_by_key(
    f: Any, start: int, size: int, col: int, use_c: bool = True
) -> Iterator[tuple[int, Any, Any, bytes]]:
    """Blocks ``(segment, first key, last key, places)`` of :data:`KEYS_PER_BLOCK` keys for the
    rows of a stored entry, grouped by the integer in cell ``col`` (rows without it left out),
    by key; ``places`` as in ``row_loc``. Rows are taken :data:`SEGMENT_ROWS` at a time (a
    segment), so memory does not grow with the table. With the C module the rows' (key,
    offset, length) are 16 bytes each, sorted in place and cut into blocks in C; it raises
    :class:`KeysNotIntegers` for a key that is not an integer."""
    if use_c and _siardc is not None:
        yield from places_in_segments(_packed_parts(f, start, size, col))
        return
    groups: dict[Any, list[tuple[int, int]]] = {}
    rows = seg = 0
    for batch in cell_batches(f, start, size, [col], True):
        for key, offset, length in batch:
            groups.setdefault(key, []).append((offset, length))
            rows += 1
            if rows >= SEGMENT_ROWS:
                yield from _blocks_of(seg, groups)
                groups, rows, seg = {}, 0, seg + 1
    if groups:
        yield from _blocks_of(seg, groups)


def _blocks_of(
    seg: int, groups: dict[Any, list[tuple[int, int]]]
) -> Iterator[tuple[int, Any, Any, bytes]]:
    keys = sorted(groups, key=key_order)
    # keys that are not integers (text ids) get a block each, their packed key 0
    per_block = KEYS_PER_BLOCK if all(type(k) is int for k in keys) else 1
    for b in range(0, len(keys), per_block):
        block = keys[b : b + per_block]
        places = b"".join(
            PACKED_KEY.pack(k if per_block > 1 else 0, len(groups[k]))
            + b"".join(PACKED_PLACE.pack(o, n) for o, n in sorted(groups[k]))
            for k in block
        )
        yield seg, block[0], block[-1], places


def places_in_segments(parts: Iterable[bytes | bytearray]) -> Iterator[tuple[int, int, int, bytes]]:
    """Blocks as :func:`places_by_key` gives them, from the C records of a table's rows in file
    order (16 bytes a row, from ``locate_rows``) in any number of parts: exactly
    :data:`SEGMENT_ROWS` records a segment (before, a segment ended at the first read that
    took it past that, so its rows depended on the read size), sorted and cut into blocks in
    C."""
    packed = bytearray()
    limit = SEGMENT_ROWS * _LOC_SIZE
    seg = 0
    for part in parts:
        with memoryview(part) as view:
            at = 0
            while at < len(view):
                take = min(limit - len(packed), len(view) - at)
                packed += view[at : at + take]
                at += take
                if len(packed) == limit:  # sorted where it is: no copy of a full segment
                    yield from _sorted_blocks(seg, packed)
                    packed, seg = bytearray(), seg + 1
    if packed:
        yield from _sorted_blocks(seg, packed)


def _sorted_blocks(seg: int, packed: bytearray) -> Iterator[tuple[int, int, int, bytes]]:
    _siardc.sort_locations(packed)
    at = 0
    while True:
        blocks, at = _siardc.block_locations(packed, at, KEYS_PER_BLOCK, 1000)
        if not blocks:
            return
        for first, last, places in blocks:
            yield seg, first, last, places


def _packed_parts(f: Any, start: int, size: int, col: int) -> Iterator[bytes]:
    """The C scan's records of a stored entry, a read at a time."""
    carry = b""
    base = start
    f.seek(start)
    remaining = size
    while True:
        chunk = f.read(min(_CHUNK, remaining)) if remaining > 0 else b""
        remaining -= len(chunk)
        data = carry + chunk if carry else chunk
        try:
            found, used = _siardc.locate_rows(data, base, col)
        except ValueError as exc:
            raise KeysNotIntegers(str(exc)) from None
        yield found
        if not chunk:
            return
        carry = data[used:]
        base += used


def entry_span(arc: Any, f: Any, entry: str) -> tuple[int, int]:
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
