"""Each organisation's bag: valid BagIt, only its own records, all records in some bag,
protected addresses withheld, an empty organisation told so — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import bagit
import pytest
from sqlalchemy import create_engine, insert, select

from models.source import Organisation, SourceBase
from tasks.extracts.orgs import address_columns, bag_name, record_tables, write_org_bags
from tasks.extracts.source import LiveSource, json_value
from tasks.synthetic import generate

EMPTY_ORG = 9999
csv.field_size_limit(1 << 30)  # SAMSA has free texts and attachments far over 128 kB


def _source_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, read straight from the database (not through the extracts)."""
    eng = create_engine(url)
    out: dict[str, list[dict[str, Any]]] = {}
    with eng.connect() as c:
        for name, table in SourceBase.metadata.tables.items():
            rows = c.execute(select(table).order_by(*table.primary_key)).mappings()
            out[name] = [{k: json_value(v) for k, v in r.items()} for r in rows]
    eng.dispose()
    return out


def _bag_rows(bag: Path, table: str) -> list[dict[str, Any]]:
    return json.loads((bag / "data" / f"{table}.json").read_text(encoding="utf-8"))


@pytest.fixture
def synthetic(db_url: str) -> str:
    generate(db_url, scale=4000, seed=11)
    eng = create_engine(db_url)
    with eng.begin() as c:
        c.execute(
            insert(Organisation).values(
                id=EMPTY_ORG, kind="private_provider", name="Tomma Vården AB",
                hsa_id="SE5560009999-P000000000099", sub_region="Fyrbodal",
            )
        )  # fmt: skip
    eng.dispose()
    return db_url


def test_every_record_in_exactly_its_own_organisations_bag(synthetic: str, tmp_path: Path) -> None:
    src = LiveSource(synthetic)
    bags = write_org_bags(src, tmp_path / "out", bagging_date=date(2026, 11, 27))
    tables = [s.name for s in record_tables(src.tables())]
    src.close()
    source = _source_rows(synthetic)
    orgs = {str(o["id"]) for o in source["organisation"]}
    assert {b.org.id for b in bags} == orgs  # every organisation gets its bag

    union: dict[str, list[dict[str, Any]]] = {t: [] for t in tables}
    for b in bags:
        bagit.Bag(str(b.bag.path)).validate()
        for t in tables:
            rows = _bag_rows(b.bag.path, t)
            foreign = [r["id"] for r in rows if str(r["org_id"]) != b.org.id]
            assert not foreign, f"{t} rows {foreign[:5]} in the bag of org {b.org.id}"
            union[t] += rows
            with (b.bag.path / "data" / f"{t}.csv").open(encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                header = next(reader)
                assert header == list(source[t][0]) if source[t] else header
                assert sum(1 for _ in reader) == len(rows)
    for t in tables:
        key = lambda r: r["id"]  # noqa: E731
        assert sorted(union[t], key=key) == sorted(source[t], key=key), t
    assert sum(len(v) for v in union.values()) > 3000


def test_persons_follow_their_records_and_protected_addresses_are_withheld(
    synthetic: str, tmp_path: Path
) -> None:
    eng = create_engine(synthetic)
    with eng.begin() as c:  # make sure protected persons with an address on file exist
        from models.source import Person

        c.execute(Person.__table__.update().where(Person.id % 7 == 0).values(
            protected_identity=True, street_address="Hemlig väg 1", postal_code="41111",
            city="Göteborg"))  # fmt: skip
    eng.dispose()
    src = LiveSource(synthetic)
    spec = {s.name: s for s in src.tables()}["person"]
    assert [spec.columns[i] for i in address_columns(spec)] == [
        "street_address", "postal_code", "city"
    ]  # fmt: skip
    bags = write_org_bags(src, tmp_path / "out")
    src.close()
    source = _source_rows(synthetic)
    seen_protected = 0
    for b in bags:
        people = {p["id"]: p for p in _bag_rows(b.bag.path, "person")}
        referenced = {
            r["person_id"]
            for t in ("care_episode", "message", "consent", "access_log")
            for r in _bag_rows(b.bag.path, t)
        }
        assert referenced <= set(people), "a record's person is missing from the bag"
        for p in people.values():
            if p["protected_identity"]:
                seen_protected += 1
                assert p["address_withheld"] is True
                assert p["street_address"] is None and p["postal_code"] is None
                assert p["city"] is None
            else:
                assert p["address_withheld"] is False
        text = (b.bag.path / "data" / "person.csv").read_text(encoding="utf-8")
        assert "Hemlig väg" not in text
    assert seen_protected > 0
    assert Counter(p["protected_identity"] for p in source["person"])[True] > 0


def test_an_organisation_without_records_gets_a_bag_that_says_so(
    synthetic: str, tmp_path: Path
) -> None:
    src = LiveSource(synthetic)
    bags = write_org_bags(src, tmp_path / "out", only_org=str(EMPTY_ORG))
    src.close()
    assert len(bags) == 1 and bags[0].records == 0
    bag = tmp_path / "out" / bag_name(str(EMPTY_ORG))
    bagit.Bag(str(bag)).validate()
    readme = (bag / "data" / "README.txt").read_text(encoding="utf-8")
    assert "Tomma Vården AB" in readme
    assert "INGA POSTER" in readme
    assert json.loads((bag / "data" / "message.json").read_text(encoding="utf-8")) == []
    assert (bag / "data" / "message.csv").read_text(encoding="utf-8").startswith("id,")


def test_a_municipality_receives_the_notices_sent_to_it_marked_inkommen(
    synthetic: str, tmp_path: Path
) -> None:
    """Lag (2017:612): the admission and ready-for-discharge notices a municipality received
    are its incoming records; they reach its bag as inkommen-*, with their persons."""
    src = LiveSource(synthetic)
    bags = {b.org.id: b for b in write_org_bags(src, tmp_path / "out")}
    src.close()
    source = _source_rows(synthetic)
    received_messages = Counter(
        str(m["receiver_org_id"]) for m in source["message"]
        if m["receiver_org_id"] != m["org_id"]
    )  # fmt: skip
    municipalities = {str(o["id"]) for o in source["organisation"] if o["kind"] == "municipality"}
    assert received_messages and set(received_messages) & municipalities

    for oid, bag in bags.items():
        bagit.Bag(str(bag.bag.path)).validate()
        inbox = _bag_rows(bag.bag.path, "inkommen-message")
        assert {str(r["receiver_org_id"]) for r in inbox} <= {oid}
        assert all(str(r["org_id"]) != oid for r in inbox)  # written by another organisation
        assert len(inbox) == received_messages.get(oid, 0)
        episodes = _bag_rows(bag.bag.path, "inkommen-care_episode")
        assert all(str(e["municipality_id"]) == oid != str(e["org_id"]) for e in episodes)
        people = {p["id"] for p in _bag_rows(bag.bag.path, "person")}
        assert {r["person_id"] for r in inbox + episodes} <= people
        assert bag.counts["inkommen-message"] == len(inbox)

    busiest = max(municipalities, key=lambda o: received_messages.get(o, 0))
    readme = (bags[busiest].bag.path / "data" / "README.txt").read_text(encoding="utf-8")
    assert "inkomna handlingar" in readme and "inkommen-message" in readme
    assert "Inkomna till er: meddelanden" in readme
    # municipalities received admission notices for their residents' care episodes
    assert any(_bag_rows(bags[m].bag.path, "inkommen-care_episode") for m in municipalities)
