"""The synthetic SAMSA database: schema conventions, determinism, the law's 24-hour rule,
nasty text, identities that validate, and refusal to overwrite a non-synthetic database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from models.errors import InputError
from models.identity import parse_identity
from models.source import PERSON_TABLES, TABLE_ORDER, CareEpisode, Person, SourceBase
from tasks.synthetic import generate
from tasks.synthetic.vocabulary import NASTY_TEXT


def _dump(url: str) -> dict[str, list[tuple]]:
    eng = create_engine(url)
    out = {}
    with eng.connect() as c:
        for t in TABLE_ORDER:
            table = SourceBase.metadata.tables[t]
            out[t] = [tuple(r) for r in c.execute(select(table).order_by(*table.primary_key))]
    eng.dispose()
    return out


def test_schema_conventions_other_areas_rely_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=3000, seed=1)
    insp = inspect(create_engine(url))
    for t in PERSON_TABLES:
        cols = {c["name"] for c in insp.get_columns(t)}
        assert {"person_id", "org_id"} <= cols, t
        fk_targets = {fk["referred_table"] for fk in insp.get_foreign_keys(t)}
        assert {"person", "organisation"} <= fk_targets, t
    assert {c["name"] for c in insp.get_columns("access_log")} >= {
        "user_id", "person_id", "org_id", "at", "action"
    }  # fmt: skip


def test_generation_is_deterministic_and_marked_synthetic(db_url: str, tmp_path: Path) -> None:
    report = generate(db_url, scale=3000, seed=42)
    assert report.total_rows >= 2500
    first = _dump(db_url)
    assert first["dataset_info"][0][1] is True or first["dataset_info"][0][1] == 1
    other = f"sqlite:///{tmp_path / 'again.sqlite'}"
    generate(other, scale=3000, seed=42)
    second = _dump(other)
    for t in TABLE_ORDER:
        assert len(first[t]) == len(second[t]), t
    # Values equal across dialects too (timestamps compared in UTC).
    assert [r[1] for r in first["person"]] == [r[1] for r in second["person"]]
    assert [r[8] for r in first["message"]] == [r[8] for r in second["message"]]


def test_identities_are_valid_and_of_all_kinds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=20000, seed=5)
    with create_engine(url).connect() as c:
        people = c.execute(select(Person.identity, Person.identity_kind, Person.protected_identity,
                                  Person.street_address)).all()  # fmt: skip
    kinds = {k for _, k, _, _ in people}
    assert kinds == {"personnummer", "samordningsnummer", "reservnummer"}
    for identity, kind, protected, street in people:
        assert parse_identity(identity).kind.value == kind
        if protected:
            assert street is None
    assert any(p for _, _, p, _ in people)
    assert len({i for i, *_ in people}) == len(people)


def test_episodes_follow_the_discharge_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=20000, seed=5)
    with create_engine(url).connect() as c:
        eps = c.execute(select(CareEpisode)).all()
    on_time = 0
    for e in eps:
        assert e.admission_notice_at > e.admitted_at
        if (e.admission_notice_at - e.admitted_at).total_seconds() <= 24 * 3600:
            on_time += 1
        if e.ready_for_discharge_at:
            assert e.ready_for_discharge_at > e.admission_notice_at
        if e.planning_at:
            assert e.planning_at >= e.ready_for_discharge_at
        if e.discharged_at:
            assert e.discharged_at >= (e.planning_at or e.ready_for_discharge_at)
    assert 0.95 < on_time / len(eps) < 1.0  # most within 24 hours, a few late (to be found)


def test_nasty_text_is_stored_exactly(db_url: str) -> None:
    generate(db_url, scale=3000, seed=9)
    with create_engine(db_url).connect() as c:
        bodies = {r[0] for r in c.execute(text("SELECT body FROM message"))}
        blobs = [r[0] for r in c.execute(text("SELECT content FROM attachment"))]
    for nasty in NASTY_TEXT:
        assert nasty in bodies, repr(nasty)
    assert None in bodies
    assert max(len(b) for b in bodies if b) >= 300_000
    assert b"" in [bytes(b) for b in blobs if b is not None]
    assert None in blobs


def test_refuses_to_overwrite_unless_synthetic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=2000, seed=1)
    with pytest.raises(InputError, match="--replace"):
        generate(url, scale=2000, seed=1)
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("UPDATE dataset_info SET synthetic = 0"))
    with pytest.raises(InputError, match="not mark this database as synthetic"):
        generate(url, scale=2000, seed=1, replace=True)
