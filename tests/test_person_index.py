"""The person index's row scanner finds every row and cell, wherever chunk borders fall."""

from __future__ import annotations

import io
import re

import pytest

from tasks.extracts.person_index import rows as row_scan
from tasks.extracts.person_index.format import identity_key, unpack_places
from tasks.extracts.person_index.rows import (
    KeysNotIntegers,
    _iter_rows,
    cell_batches,
    places_by_key,
    places_in_segments,
)


def _entry() -> bytes:
    rows = []
    for i in range(1, 40):
        body = "x" * (i * 7 % 23)
        person = "" if i % 5 == 0 else f"<c3>{1000 + i}</c3>"  # NULL person_id: cell absent
        rows.append(f"<row><c1>{i}</c1><c2>{body}</c2>{person}<c4>&lt;row&gt;</c4></row>")
    return ('<?xml version="1.0"?><table xmlns="x">' + "".join(rows) + "</table>").encode()


@pytest.mark.parametrize("chunk", [3, 5, 7, 16, 64, 1 << 24])
def test_every_row_found_across_chunk_borders(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(row_scan, "_CHUNK", chunk)
    prefix = b"PK-local-header-and-other-entries"
    data = _entry()
    f = io.BytesIO(prefix + data + b"trailing zip directory")
    found = list(_iter_rows(f, len(prefix), len(data), [1, 3]))
    expected = [(m.start() + len(prefix), m.end() - m.start())
                for m in re.finditer(rb"<row>.*?</row>", data)]  # fmt: skip
    assert [(o, n) for o, n, _ in found] == expected
    for offset, length, cells in found:
        row = (prefix + data)[offset : offset + length]
        i = int(cells[0] or 0)
        assert row.startswith(b"<row><c1>") and row.endswith(b"</row>")
        assert cells[1] == (None if i % 5 == 0 else str(1000 + i).encode())


def test_the_c_hmac_is_rfc_2104_hmac_sha256_for_every_key_and_message_length() -> None:
    """identity_key uses the C module's HMAC where it is built: it must give hmac.digest's bytes
    (keys longer than a block are hashed first; messages around the block edges)."""
    import hmac
    import os

    siardc = pytest.importorskip("tasks.archive._siardc", reason="C module not built")
    for key_len in (0, 1, 32, 63, 64, 65, 200):
        for msg_len in (0, 1, 12, 55, 56, 63, 64, 65, 119, 120, 500):
            key, msg = os.urandom(key_len), os.urandom(msg_len)
            assert siardc.hmac_sha256(key, msg) == hmac.digest(key, msg, "sha256")
    key = b"k" * 32
    assert identity_key(key, "191212121212") == hmac.digest(key, b"191212121212", "sha256")


def test_identity_key_depends_on_the_salt() -> None:
    a = identity_key(b"a" * 32, "191212121212")
    assert a == identity_key(b"a" * 32, "191212121212")
    assert a != identity_key(b"b" * 32, "191212121212")
    assert b"191212121212" not in a


@pytest.mark.parametrize("chunk", [5, 16, 64, 1 << 24])
def test_c_and_python_scanners_agree_across_chunk_borders(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The C scan (one call per chunk) and the Python scan give the same cells and places."""
    pytest.importorskip("tasks.archive._siardc")
    monkeypatch.setattr(row_scan, "_CHUNK", chunk)
    prefix = b"PK-local-header"
    data = _entry()
    f = io.BytesIO(prefix + data + b"trailer")

    def both(fn, *args):  # type: ignore[no-untyped-def]
        with_c = list(fn(f, len(prefix), len(data), *args))
        with_c = [r for b in with_c for r in b] if fn is cell_batches else with_c
        monkeypatch.setattr(row_scan, "_siardc", None)
        plain = list(fn(f, len(prefix), len(data), *args))
        plain = [r for b in plain for r in b] if fn is cell_batches else plain
        monkeypatch.undo()
        monkeypatch.setattr(row_scan, "_CHUNK", chunk)
        return with_c, plain

    with_c, plain = both(cell_batches, [3, 1], True)
    assert with_c == plain and len(with_c) == 39 - 7  # rows without a person left out
    assert with_c[0] == (1001, 1, len(prefix) + data.index(b"<row>"), with_c[0][3])
    with_c, plain = both(places_by_key, 3)
    assert with_c == plain
    places = [p for _s, _f, _l, b in with_c for p in unpack_places(b)]
    assert [k for k, _o, _n in places] == [1000 + i for i in range(1, 40) if i % 5]
    for key, offset, length in places:
        row = (prefix + data)[offset : offset + length]
        assert row.startswith(b"<row><c1>") and f"<c3>{key}</c3>".encode() in row


def test_blocks_hold_whole_persons_and_at_most_so_many_persons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("tasks.archive._siardc")
    rows = "".join(
        f"<row><c1>{i}</c1><c3>{p}</c3></row>" for i, p in enumerate([5, 1, 5, 2, 3, 3, 9, 7, 5])
    ).encode()
    monkeypatch.setattr(row_scan, "KEYS_PER_BLOCK", 2)
    blocks = list(places_by_key(io.BytesIO(rows), 0, len(rows), 3))
    assert [(first, last) for _seg, first, last, _b in blocks] == [(1, 2), (3, 5), (7, 9)]
    in_second = [k for k, _o, _n in unpack_places(blocks[1][3])]
    assert in_second == [3, 3, 5, 5, 5]


@pytest.mark.parametrize("with_c", [True, False])
def test_segments_bound_memory_and_keep_every_row(
    monkeypatch: pytest.MonkeyPatch, with_c: bool
) -> None:
    """Rows are sorted a segment at a time: a person may then be in several segments, and
    every row is still found exactly once."""
    if with_c:
        pytest.importorskip("tasks.archive._siardc")
    else:
        monkeypatch.setattr(row_scan, "_siardc", None)
    persons = [5, 1, 5, 2, 3, 3, 9, 7, 5, 1, 2, 5]
    rows = "".join(f"<row><c1>{i}</c1><c3>{p}</c3></row>\n" for i, p in enumerate(persons))
    data = rows.encode()
    monkeypatch.setattr(row_scan, "SEGMENT_ROWS", 3)
    monkeypatch.setattr(row_scan, "_CHUNK", 64)  # about two rows a read
    blocks = list(places_by_key(io.BytesIO(data), 0, len(data), 3))
    assert len({seg for seg, *_ in blocks}) > 1
    found = sorted((k, o) for _s, _f, _l, b in blocks for k, o, _n in unpack_places(b))
    offsets = [m.start() for m in re.finditer(rb"<row>", data)]
    assert found == sorted(zip(persons, offsets, strict=True))


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_c_and_python_cut_segments_at_the_same_rows(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """A segment is exactly SEGMENT_ROWS rows with a key, whatever the reads: the C scan, the
    Python scan and the re-read's places (in parts of any size) give the same index rows."""
    persons = [5, 1, 5, 2, 3, 3, 9, 7, 5, 1, 2, 5, 8, 8]
    rows = "".join(f"<row><c1>{i}</c1><c3>{p}</c3></row>\n" for i, p in enumerate(persons))
    data = rows.encode()
    monkeypatch.setattr(row_scan, "SEGMENT_ROWS", 3)
    monkeypatch.setattr(row_scan, "_CHUNK", chunk)
    with_c = list(places_by_key(io.BytesIO(data), 0, len(data), 3))
    plain = list(places_by_key(io.BytesIO(data), 0, len(data), 3, use_c=False))
    assert with_c == plain
    assert [seg for seg, *_ in with_c][-1] == 4  # 14 rows: segments of 3, 3, 3, 3 and 2
    siardc = pytest.importorskip("tasks.archive._siardc")
    packed, _used = siardc.locate_rows(data, 0, 3)
    for cut in (16, 48, 80):  # the same records in parts of other sizes
        parts = [packed[i : i + cut] for i in range(0, len(packed), cut)]
        assert list(places_in_segments(parts)) == with_c


def test_keys_that_are_not_integers_go_the_general_way() -> None:
    pytest.importorskip("tasks.archive._siardc")
    data = b"<row><c1>1</c1><c3>SE123</c3></row>\n<row><c1>2</c1><c3>7</c3></row>\n"
    with pytest.raises(KeysNotIntegers):
        list(places_by_key(io.BytesIO(data), 0, len(data), 3))
    blocks = list(places_by_key(io.BytesIO(data), 0, len(data), 3, use_c=False))
    assert [(first, last) for _s, first, last, _b in blocks] == [(7, 7), ("SE123", "SE123")]
    offsets = [[o for _k, o, _n in unpack_places(b)] for *_, b in blocks]
    assert offsets == [[data.index(b"<row><c1>2")], [0]]  # integers first, as SQLite orders
