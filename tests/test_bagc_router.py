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


# ------------------------------------------------------------ the routers' (person, org) notes


def _int_router(orgs: list[bytes], ncols: int, **kw: Any) -> Any:
    kinds = bytes([1] * ncols)  # integers
    keys = tuple(f'{", " if i else "{"}"c{i}": '.encode() for i in range(ncols))
    return pg_routing._bagc.Router(kinds=kinds, ncols=ncols, keys=keys, orgs=orgs,
                                   flush_at=1 << 14, count_unknown=False, **kw)  # fmt: skip


def test_a_router_notes_each_records_person_once_per_organisation_it_reached() -> None:
    """Columns: id, person, writer, receiver. A person is noted for the writer and for a
    receiver other than the writer, never for an organisation without a bag, never for a
    record without a person."""
    pairs = pg_routing._bagc.Pairs()
    r = _int_router([b"10", b"20", b"30"], 4, org_col=2, recv_cols=(3,), collect=pairs,
                person_col=1)  # fmt: skip
    r.feed(
        b"1\t7\t10\t20\n"  # person 7: writer 10, receiver 20
        b"2\t7\t10\t10\n"  # writer = receiver: 10 once
        b"3\t7\t99\t\\N\n"  # organisation 99 has no bag: not noted
        b"4\t8\t30\t99\n"  # person 8: 30 only
        b"5\t\\N\t20\t30\n"  # no person: nothing noted
        b"6\t9\t\\N\t30\n"
    )  # no writer, received by 30
    assert pairs.orgs_of(b"7") == [0, 1]
    assert pairs.orgs_of(b"8") == [2]
    assert pairs.orgs_of(b"9") == [2]
    assert pairs.orgs_of(b"77") == [] and pairs.orgs_of(b"") == []
    assert pairs.sizes() == (3, 4)


def test_persons_are_routed_only_to_the_organisations_noted_for_them() -> None:
    pairs = pg_routing._bagc.Pairs()
    notes = _int_router([b"10", b"20"], 3, org_col=2, recv_cols=(), collect=pairs, person_col=1)
    notes.feed(b"1\t7\t10\n2\t8\t20\n3\t7\t20\n")
    people = _int_router([b"10", b"20"], 2, org_col=0, recv_cols=(), persons=pairs, person_col=0)
    out = people.feed(b"6\t60\n7\t70\n8\t80\n9\t90\n") + people.flush()
    csv = {(i, recv): c for i, recv, c, _ in out}
    assert csv[(0, 0)] == b"7,70\r\n"
    assert csv[(1, 0)] == b"7,70\r\n8,80\r\n"
    assert people.counts(False) == [1, 2]


def test_pairs_are_routed_by_whole_ids_not_by_a_prefix_or_a_lookalike() -> None:
    """An id is its whole COPY text: 7 is not 77, 07 or '7 '."""
    pairs = pg_routing._bagc.Pairs()
    notes = _int_router([b"1"], 2, org_col=1, recv_cols=(), collect=pairs, person_col=0)
    notes.feed(b"7\t1\n")
    people = _int_router([b"1"], 1, org_col=0, recv_cols=(), persons=pairs, person_col=0)
    people.feed(b"77\n07\n70\n")
    assert people.counts(False) == [0]
    people.feed(b"7\n")
    assert people.counts(False) == [1]


@pytest.mark.parametrize(
    "bad",
    [
        {"collect": "not pairs", "person_col": 0},
        {"collect": "PAIRS", "person_col": 5},
        {"collect": "PAIRS", "persons": "PAIRS", "person_col": 0},
        {"persons": "PAIRS"},
    ],
)
def test_a_router_refuses_notes_it_cannot_use(bad: dict[str, object]) -> None:
    pairs = pg_routing._bagc.Pairs()
    kw = {k: pairs if v == "PAIRS" else v for k, v in bad.items()}
    with pytest.raises(ValueError, match="Pairs"):
        _int_router([b"1"], 2, org_col=1, recv_cols=(), **kw)


def test_person_batches_are_fed_in_whole_lines() -> None:
    data = b"".join(b"x" * (i % 97) + b"\n" for i in range(5000))
    for size in (1, 64, 4096, len(data) + 1):
        pieces = [bytes(p) for p in pg_routing._pieces(data, size)]
        assert b"".join(pieces) == data
        assert all(p.endswith(b"\n") for p in pieces)
        assert max(map(len, pieces)) <= max(size, 97)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "5", "6", "55", "-5"]),
            st.sampled_from([None, "1", "2", "3", "9"]),
            st.sampled_from([None, "1", "2", "3", "9"]),
        ),
        max_size=40,
    )
)
def test_the_notes_are_the_python_loops_persons_of(rows: list[tuple[Any, Any, Any]]) -> None:
    """What the Python loop collects in ``persons_of`` (tasks/extracts/orgs.py), for any rows."""
    pairs = pg_routing._bagc.Pairs()
    r = _int_router([o.encode() for o in ORGS], 4, org_col=2, recv_cols=(3,), collect=pairs,
                person_col=1)  # fmt: skip
    data = "".join(f"{i}\t{copy_text(p)}\t{copy_text(w)}\t{copy_text(to)}\n"
                   for i, (p, w, to) in enumerate(rows))  # fmt: skip
    if data:
        r.feed(data.encode())
    expected: dict[str, set[int]] = {}
    for p, w, to in rows:
        if p is None:
            continue
        if w in ORGS:
            expected.setdefault(p, set()).add(ORGS.index(w))
        if to is not None and to != w and to in ORGS:
            expected.setdefault(p, set()).add(ORGS.index(to))
    for p in ("5", "6", "55", "-5"):
        assert pairs.orgs_of(p.encode()) == sorted(expected.get(p, ()))
    assert pairs.sizes() == (len(expected), sum(map(len, expected.values())))
