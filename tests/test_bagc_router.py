"""The C router (tasks/extracts/_bagc.c) against Python's csv and json modules, on any text
PostgreSQL's COPY could send: the bytes must be what the Python loop writes, and no text may
move a row to another organisation, forge a row or turn into NULL."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.extracts import pg_routing

pytestmark = pytest.mark.skipif(
    pg_routing._bagc is None, reason="the C module tasks.extracts._bagc is not built"
)

COLUMNS = ("id", "org_id", "receiver_org_id", "note", "flag")
KINDS = bytes([1, 1, 1, 0, 3])  # int, int, int, text, bool
ORGS = ["1", "2", "3"]

# what PostgreSQL's COPY text output escapes (CopyAttributeOutText)
_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\b": "\\b",
                 "\f": "\\f", "\v": "\\v"}  # fmt: skip


def copy_text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return "".join(_COPY_ESCAPES.get(ch, ch) for ch in value)


Row = tuple[int, str, "str | None", "str | None", bool]


def _values(r: Row) -> list[object]:
    """The row as the Python loop gets it from psycopg (ids are integers)."""
    return [r[0], int(r[1]), None if r[2] is None else int(r[2]), r[3], r[4]]


def python_bytes(rows: list[Row]) -> dict[tuple[str, int], tuple[bytes, bytes]]:
    """What the Python loop writes for these rows: {(org, received?): (csv, json)}."""
    out: dict[tuple[str, int], tuple[io.StringIO, list[str]]] = {}
    enc = json.JSONEncoder(ensure_ascii=False).encode
    for r in rows:
        values = _values(r)
        cells = [*values[:4], "true" if r[4] else "false"]
        targets = [(r[1], 0)] + ([(r[2], 1)] if r[2] is not None and r[2] != r[1] else [])
        for target in targets:
            buf, objs = out.setdefault(target, (io.StringIO(), []))
            csv.writer(buf, lineterminator="\r\n").writerow(cells)
            objs.append(enc(dict(zip(COLUMNS, values, strict=True))))
    return {
        k: (buf.getvalue().encode(),
            "".join(("\n" if i == 0 else ",\n") + o for i, o in enumerate(objs)).encode())
        for k, (buf, objs) in out.items()
    }  # fmt: skip


def _router(orgs: list[bytes], flush_at: int) -> Any:
    return pg_routing._bagc.Router(
        kinds=KINDS, ncols=len(COLUMNS), keys=pg_routing._json_keys(COLUMNS), orgs=orgs,
        org_col=1, recv_cols=(2,), count_unknown=True, flush_at=flush_at,
    )  # fmt: skip


def c_bytes(rows: list[Row]) -> dict[tuple[str, int], tuple[bytes, bytes]]:
    """The C router's bytes for the same rows as COPY text, fed in two parts."""
    router = _router([o.encode() for o in ORGS], 64)
    lines = [
        "\t".join(copy_text(v) for v in (str(r[0]), r[1], r[2], r[3], "t" if r[4] else "f"))
        .encode() + b"\n"
        for r in rows
    ]  # fmt: skip
    half = len(lines) // 2
    out: dict[tuple[str, int], tuple[bytes, bytes]] = {}
    for chunks in (router.feed(b"".join(lines[:half])), router.feed(b"".join(lines[half:])),
                   router.flush()):  # fmt: skip
        for i, recv, c, j in chunks:
            old = out.get((ORGS[i], recv), (b"", b""))
            out[(ORGS[i], recv)] = (old[0] + c, old[1] + j)
    return out


#: any text PostgreSQL can hold (no NUL, no lone surrogates), and the ones that look like structure
texts = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=40),
    st.sampled_from(["\\N", "", ",", '"', "\r\n", "\t", "\\", "1", "2\n3"]),
)
row = st.tuples(
    st.integers(0, 10**12), st.sampled_from(ORGS), st.one_of(st.none(), st.sampled_from(ORGS)),
    texts, st.booleans(),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(row, max_size=30))
def test_any_text_gives_the_python_bytes(rows: list[Row]) -> None:
    assert c_bytes(rows) == python_bytes(rows)


def test_a_receiver_naming_no_organisation_is_counted_not_routed() -> None:
    router: Any = _router([b"1", b"2"], 0)
    chunks = router.feed(b"1\t1\t7\tx\tt\n2\t9\t\\N\ty\tf\n3\t2\t8\tz\tt\n")
    assert router.unknown() == {(2, b"7"): 1, (1, b"9"): 1, (2, b"8"): 1}
    assert router.counts(False) == [1, 1] and router.counts(True) == [0, 0]
    assert sorted((i, recv) for i, recv, _, _ in chunks) == [(0, 0), (1, 0)]


@pytest.mark.parametrize(
    "line",
    [b"1\t1\t2\tx\n", b"1\t1\t2\tx\tt\textra\n", b"1\t1\t2\tx\tmaybe\n", b"x1\t1\t2\tx\tt\n",
     b"1\t1\t2\tx\tt"],
)  # fmt: skip
def test_a_malformed_row_is_refused_not_guessed(line: bytes) -> None:
    router: Any = _router([b"1", b"2"], 0)
    with pytest.raises(ValueError):
        router.feed(line)
