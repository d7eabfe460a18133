"""The bags' C path from PostgreSQL (tasks/extracts/pg_routing.py, _bagc.c) writes the same
bytes as the Python loop, falls back to it for a value it does not format exactly, and keeps
every safeguard of the Python loop: an unknown organisation stops the run, a text cannot forge
rows or NULLs, a protected address never leaves the database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import bagit
import pytest
from sqlalchemy import create_engine, func, insert, select, text, update

from models.errors import CheckFailed
from models.source import AccessLog, CareEpisode, Message, Person
from tasks.extracts import pg_routing
from tasks.extracts.orgs import bag_name, write_org_bags
from tasks.extracts.source import LiveSource
from tasks.synthetic import generate

pytestmark = pytest.mark.skipif(
    pg_routing._bagc is None, reason="the C module tasks.extracts._bagc is not built"
)

DAY = date(2026, 11, 27)
#: texts that a CSV or COPY parser could take for structure
NASTY = [
    'comma, "quoted" and ""double""',
    "line\nbreak\r\nand\rCR",
    "tab\there\\and backslash \\N \\x41 \\101",
    "\\N",
    "",
    "ctrl \x01\x07\x08\x0b\x0c\x1f del \x7f",
    "åäö ÅÄÖ é ß € 🙂 \u2028 \ufeff",
    " leading and trailing space ",
    "forged\n3\t99\t1\tpersonnummer",
]


def _bags(
    url: str, out: Path, enabled: bool, monkeypatch: pytest.MonkeyPatch, **kw: object
) -> tuple[list, list[str]]:  # type: ignore[type-arg]
    """Bags written with the C path on or off; and which tables the C path wrote (the persons
    as ``person:pairs`` when routed by the pairs the routers noted, ``person:join`` when by the
    server's join)."""
    monkeypatch.setenv("SAMSA_DECOM_EXTRACTS_C", "1" if enabled else "0")
    done: list[str] = []
    real = pg_routing.PgRouting.write_table
    real_persons = pg_routing.PgRouting.write_persons

    def spy(self, spec, *a, **k):  # type: ignore[no-untyped-def]
        n = real(self, spec, *a, **k)
        if n is not None:
            done.append(spec.name)
        return n

    def spy_persons(self, spec, *a, **k):  # type: ignore[no-untyped-def]
        how = "pairs" if self._pairs is not None else "join"
        ok = real_persons(self, spec, *a, **k)
        if ok:
            done.append(f"{spec.name}:{how}")
        return ok

    monkeypatch.setattr(pg_routing.PgRouting, "write_table", spy)
    monkeypatch.setattr(pg_routing.PgRouting, "write_persons", spy_persons)
    src = LiveSource(url)
    try:
        bags = write_org_bags(src, out, bagging_date=DAY, **kw)  # type: ignore[arg-type]
    finally:
        src.close()
    return bags, done


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.fixture
def tricky(pg_url: str) -> str:
    """A small synthetic SAMSA with rows that test every formatting rule, plus a table of
    other column types (float, timestamp without zone, unconstrained numeric, bytea)."""
    generate(pg_url, scale=3000, seed=5)
    eng = create_engine(pg_url)
    with eng.begin() as c:
        p1, p2 = c.execute(select(Person.id).order_by(Person.id).limit(2)).scalars()
        m = c.execute(select(Message).order_by(Message.id).limit(1)).mappings().one()
        for i, body in enumerate(NASTY):
            c.execute(insert(Message).values(
                id=10_000_000 + i, person_id=p1, org_id=m["org_id"],
                receiver_org_id=m["receiver_org_id"] if i % 2 else m["org_id"],
                kind=body or "x", subject=body, body=None if i == 3 else body,
                sent_at=datetime(2024, 1, 2, 3, 4, 5, 6 * 10**i % 1_000_000, tzinfo=UTC),
                read=bool(i % 2),
            ))  # fmt: skip
        c.execute(update(Person).where(Person.id == p2).values(
            protected_identity=True, street_address="Skyddad gata 7", postal_code="41234",
            city="Hemlighult"))  # fmt: skip
        c.execute(insert(AccessLog).values(
            id=10_000_000, user_id=select(AccessLog.user_id).limit(1).scalar_subquery(),
            person_id=p2, org_id=m["org_id"], at=datetime(2025, 5, 5, tzinfo=UTC),
            action="read"))  # fmt: skip
        c.execute(
            text(
                "CREATE TABLE extra_note (id bigint PRIMARY KEY, org_id int, person_id bigint, "
                "ratio double precision, small real, at timestamp, amount numeric, blob bytea, "
                "flag boolean, day date, note text)"
            )
        )
        values = [
            (1, 0.1, 1.5, "2024-02-29 23:59:59.5", "0.50", b"", True, "0001-01-01"),
            (2, 1e20, -0.0, "2024-01-01 00:00:00", "-12.300", b"a", False, "9999-12-31"),
            (3, 1e-7, 3.4e38, "1999-12-31 12:00:00.000001", "123456789012345678.9", b"ab",
             None, None),
            (4, float("nan"), float("inf"), None, "NaN", b"abc\x00\xff", True, "2026-11-27"),
            (5, -123.456, 100.0, "2024-06-01 01:02:03.4567", "0.000001", bytes(range(256)),
             False, "2024-06-01"),
            (6, None, None, None, None, None, None, None),
        ]  # fmt: skip
        for i, ratio, small, at, amount, blob, flag, day in values:
            c.execute(text(
                "INSERT INTO extra_note VALUES (:i, :o, :p, :r, :s, CAST(:at AS timestamp), "
                "CAST(:a AS numeric), :b, :f, CAST(:d AS date), :n)"
            ), {"i": i, "o": m["org_id"], "p": p1, "r": ratio, "s": small, "at": at,
                "a": amount, "b": blob, "f": flag, "d": day,
                "n": NASTY[i % len(NASTY)]})  # fmt: skip
    eng.dispose()
    return pg_url


@pytest.mark.parametrize("reader", ["psql", "psycopg"])
def test_c_path_writes_the_python_loops_bytes(
    tricky: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    """Through psql (its own process, the same snapshot) or psycopg: the same bytes."""
    monkeypatch.setenv("SAMSA_DECOM_ARCHIVE_PSQL", "1" if reader == "psql" else "0")
    c_bags, c_tables = _bags(tricky, tmp_path / "c", True, monkeypatch)
    py_bags, py_tables = _bags(tricky, tmp_path / "py", False, monkeypatch)
    assert py_tables == []
    assert "message" in c_tables and "extra_note" in c_tables and len(c_tables) >= 11
    assert c_tables[-1] == "person:pairs"  # no second pass of the server over the records
    c_files, py_files = _files(tmp_path / "c"), _files(tmp_path / "py")
    assert sorted(c_files) == sorted(py_files)
    differing = [name for name in c_files if c_files[name] != py_files[name]]
    assert differing == []
    assert [b.bag.sha256 for b in c_bags] == [b.bag.sha256 for b in py_bags]
    for b in c_bags[:3]:
        bagit.Bag(str(b.bag.path)).validate()
    # the nasty texts arrived whole, once, in the writer's bag; none forged a row or a NULL
    writer = next(b for b in c_bags if b.counts.get("extra_note"))
    msgs = json.loads((writer.bag.path / "data" / "message.json").read_bytes())
    forged = [r for r in msgs if r["id"] >= 10_000_000]
    assert [r["subject"] for r in forged] == NASTY
    assert forged[3]["body"] is None and forged[4]["body"] == ""
    notes = json.loads((writer.bag.path / "data" / "extra_note.json").read_bytes())
    assert [n["amount"] for n in notes][:3] == ["0.50", "-12.300", "123456789012345678.9"]
    assert notes[2]["at"] == "1999-12-31T12:00:00.000001Z"


def test_a_value_the_c_code_cannot_write_sends_its_table_the_python_way(
    tricky: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python writes numeric 0.0000001 as 1E-7: that table goes the Python way, whole."""
    eng = create_engine(tricky)
    with eng.begin() as c:
        c.execute(text("UPDATE extra_note SET amount = 0.0000001 WHERE id = 6"))
    eng.dispose()
    _, c_tables = _bags(tricky, tmp_path / "c", True, monkeypatch)
    _bags(tricky, tmp_path / "py", False, monkeypatch)
    assert "extra_note" not in c_tables and "message" in c_tables
    # extra_note's persons were not noted by a router: the server joins them all instead
    assert c_tables[-1] == "person:join"
    assert _files(tmp_path / "c") == _files(tmp_path / "py")
    org = next(p for p in (tmp_path / "c").iterdir() if (p / "data/extra_note.csv").stat().st_size
               > 200)  # fmt: skip
    assert b",1E-7," in (org / "data/extra_note.csv").read_bytes()


def test_persons_the_c_code_cannot_write_go_the_python_way(
    tricky: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = create_engine(tricky)
    with eng.begin() as c:
        c.execute(text("ALTER TABLE person ADD COLUMN score numeric"))
        c.execute(text("UPDATE person SET score = 0.0000001 WHERE id % 5 = 0"))
    eng.dispose()
    _, c_tables = _bags(tricky, tmp_path / "c", True, monkeypatch)
    assert "message" in c_tables and not any(t.startswith("person") for t in c_tables)
    _bags(tricky, tmp_path / "py", False, monkeypatch)
    assert _files(tmp_path / "c") == _files(tmp_path / "py")
    assert any(b",1E-7," in p.read_bytes() for p in (tmp_path / "c").glob("*/data/person.csv"))


@pytest.mark.parametrize("column", ["org_id", "receiver_org_id"])
def test_a_record_naming_no_organisation_still_stops_the_run(
    tricky: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, column: str
) -> None:
    eng = create_engine(tricky)
    with eng.begin() as c:  # the foreign key would refuse the record: as if it were not there
        c.execute(text("ALTER TABLE message DROP CONSTRAINT IF EXISTS fk_message_" + column))
        c.execute(update(Message).where(Message.id == 10_000_001).values({column: 424242}))
    eng.dispose()
    with pytest.raises(CheckFailed, match=f"message.{column}:424242 \\(1 rows\\)"):
        _bags(tricky, tmp_path / "c", True, monkeypatch)


def test_a_protected_address_never_reaches_a_bag(
    tricky: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bags, _ = _bags(tricky, tmp_path / "c", True, monkeypatch)
    eng = create_engine(tricky)
    with eng.connect() as c:
        protected = c.execute(select(func.count()).where(Person.protected_identity)).scalar()
    eng.dispose()
    assert protected
    seen = 0
    for b in bags:
        for f in (b.bag.path / "data").iterdir():
            blob = f.read_bytes()
            assert b"Skyddad gata" not in blob and b"Hemlighult" not in blob, f
        for p in json.loads((b.bag.path / "data" / "person.json").read_bytes()):
            if p["protected_identity"]:
                seen += 1
                assert p["address_withheld"] is True and p["street_address"] is None
    assert seen


def test_one_organisation_alone_gets_the_same_bag_as_in_the_full_run(
    tricky: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = create_engine(tricky)
    with eng.connect() as c:
        muni = c.execute(select(CareEpisode.municipality_id).limit(1)).scalar()
    eng.dispose()
    _bags(tricky, tmp_path / "all", True, monkeypatch)
    one, _ = _bags(tricky, tmp_path / "one", True, monkeypatch, only_org=str(muni))
    assert len(one) == 1 and one[0].counts["inkommen-care_episode"] > 0
    name = bag_name(str(muni))
    assert _files(tmp_path / "one" / name) == _files(tmp_path / "all" / name)
