"""The C scans of a table file that the person index uses (``locate_rows``, ``row_cells``) find
every row and cell where a plain reading of the XML finds them: rows of any length, cells
present or absent (NULL), tags that start in the last bytes of a buffer, rows cut off at the
end of a buffer, and text that holds everything a table file may hold (escaped markup)."""

from __future__ import annotations

import re
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

siardc = pytest.importorskip("tasks.archive._siardc", reason="C module not built")

ROW = re.compile(rb"<row>.*?</row>", re.S)
PIECES = [*"ab <>&/rowc123\t", "</row>", "<row>", "</c3>", "<c3>", "&#10;", "ö", "x" * 40]
TEXT = st.lists(st.sampled_from(PIECES), max_size=12).map(
    lambda p: "".join(p).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
)


@st.composite
def table_file(draw: st.DrawFn) -> bytes:
    rows = []
    for _ in range(draw(st.integers(0, 40))):
        cells = []
        for col in range(1, 5):
            if col == 1 or draw(st.booleans()):  # c1 always, the others may be NULL
                value = (
                    str(draw(st.integers(-(10**12), 10**12))) if col in (1, 3)
                    else draw(TEXT)
                )  # fmt: skip
                cells.append(f"<c{col}>{value}</c{col}>")
        rows.append("<row>" + "".join(cells) + "</row>")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<table>\n'
    return (head + "\n".join(rows) + ("\n" if rows else "") + "</table>\n").encode()


def reference(data: bytes, base: int, col: int) -> tuple[list[tuple[int, int, int]], int]:
    found, consumed = [], 0
    for m in ROW.finditer(data):
        consumed = m.end()
        cell = re.search(rb"<c%d>(.*?)</c%d>" % (col, col), m.group())
        if cell:
            found.append((int(cell.group(1)), base + m.start(), m.end() - m.start()))
    return found, consumed


def unpack(packed: bytes) -> list[tuple[int, int, int]]:
    out = []
    for key, place in struct.iter_unpack("<qQ", packed):
        out.append((key, place >> 24, place & 0xFFFFFF))
    return out


@settings(max_examples=300, deadline=None)
@given(table_file(), st.integers(0, 10**9), st.sampled_from([1, 3]), st.data())
def test_locate_rows_finds_what_a_plain_reading_finds(
    data: bytes, base: int, col: int, draw: st.DataObject
) -> None:
    cut = draw.draw(st.integers(0, len(data)))  # a buffer may end anywhere, even inside a tag
    part = data[:cut]
    packed, consumed = siardc.locate_rows(part, base, col)
    want, _ = reference(part, base, col)
    assert unpack(packed) == want
    # what is not consumed holds no complete row: the next buffer starts there
    assert not ROW.search(part[consumed:])


def cell(v: bytes) -> int | str:
    """What row_cells gives for a cell's text: the integer where str(int) gives it back."""
    t = v.decode()
    return int(t) if t.isdigit() and len(t) <= 18 and (t[0] != "0" or len(t) == 1) else t


@settings(max_examples=200, deadline=None)
@given(table_file())
def test_row_cells_gives_each_rows_cells_and_place(data: bytes) -> None:
    cells, _ = siardc.row_cells(data, 7, (1, 2), False)
    want = []
    for m in ROW.finditer(data):
        one = [re.search(rb"<c%d>(.*?)</c%d>" % (c, c), m.group(), re.S) for c in (1, 2)]
        values = [None if g is None else cell(g.group(1)) for g in one]
        want.append((*values, 7 + m.start(), m.end() - m.start()))
    assert [tuple(c) for c in cells] == want
