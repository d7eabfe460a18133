"""SIARD 2.2: the archive of the synthetic database validates against the official and the
generated schemas, follows the ZIP layout, and reads back to exactly the source's values."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import xmlschema

from tasks.archive.reader import open_siard
from tasks.archive.run import archive_database
from tasks.synthetic import generate
from tasks.synthetic.vocabulary import NASTY_TEXT
from tests.archive_helpers import ARCHIVAL_DATE, TABLE_ORDER, make_pg_database, source_rows

OFFICIAL_METADATA_XSD = Path("/work/shared/standards/siard/2.2/metadata.xsd")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archived(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The synthetic database (SQLite, then PostgreSQL) archived once for this module."""
    tmp = tmp_path_factory.mktemp(request.param)
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'db.sqlite'}"
    else:
        url, drop = make_pg_database(request.getfixturevalue("pg_server"))
    try:
        generate(url, scale=4000, seed=11)
        outcome = archive_database(url, tmp / "out", archival_date=ARCHIVAL_DATE)
        assert outcome.verified, outcome.problems
        yield url, outcome.package
    finally:
        if drop:
            drop()


def test_archive_validates_against_official_and_generated_schemas(
    archived: tuple[str, Path],
) -> None:
    _, package = archived
    siard = next(package.glob("representations/rep1/data/*.siard"))
    xsd = OFFICIAL_METADATA_XSD if OFFICIAL_METADATA_XSD.exists() else None
    with zipfile.ZipFile(siard) as zf:
        names = zf.namelist()
        assert {"content/", "header/", "header/siardversion/2.2/", "header/metadata.xml"} <= set(
            names
        )
        assert all(n.startswith(("content/", "header/")) for n in names)
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        if xsd:
            xmlschema.XMLSchema(str(xsd)).validate(zf.read("header/metadata.xml").decode())
        tables = [n for n in names if n.endswith(".xml") and n.startswith("content/")]
        assert len(tables) == len(TABLE_ORDER)
        for entry in tables:
            schema = xmlschema.XMLSchema(zf.read(entry[:-4] + ".xsd").decode())
            schema.validate(zf.read(entry).decode())


def test_reading_back_gives_exactly_the_source_values(archived: tuple[str, Path]) -> None:
    url, package = archived
    with open_siard(package) as archive:
        names = {t.name for t in archive.tables()}
        assert names == set(TABLE_ORDER)
        for table in TABLE_ORDER:
            assert list(archive.rows(table)) == source_rows(url, table), table
        bodies = {r[8] for r in archive.rows("message")}
    for nasty in NASTY_TEXT:
        assert nasty in bodies


def test_types_keys_and_retention_in_metadata(archived: tuple[str, Path]) -> None:
    _, package = archived
    with open_siard(package) as archive:
        episode = archive.table("care_episode")
        types = {c.name: c.sql_type for c in episode.columns}
        assert types["id"] == "BIGINT"
        assert types["admitted_at"] in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP")  # SQLite: naive
        assert types["note"] == "CLOB"
        assert types["priority"] == "SMALLINT"
        assert archive.table("sip_action").columns[-1].sql_type == "DECIMAL(8, 2)"
        assert archive.table("attachment").columns[4].sql_type in ("BLOB", "VARCHAR(200)")
        assert "Patientdatalagen" in episode.description
        assert "Retention: bevaras." in archive.table("monthly_statistic").description
        meta = archive._zip.read("header/metadata.xml").decode()
    assert "<primaryKey>" in meta and "<foreignKey>" in meta and "<candidateKey>" in meta
    assert "<referencedTable>person</referencedTable>" in meta


def test_large_objects_go_to_files_and_rows_are_addressable(archived: tuple[str, Path]) -> None:
    _, package = archived
    with open_siard(package) as archive:
        lobs = [n for n in archive._zip.namelist() if "/lob" in n and not n.endswith("/")]
        assert any(n.endswith(".txt") for n in lobs) and any(n.endswith(".bin") for n in lobs)
        table = archive.table("message")
        spans = list(archive.row_spans(table))
        assert len(spans) == table.rows
        base = archive.entry_offset(table)
        rows = list(archive.rows(table))
        with open(archive.path, "rb") as f:
            for i in (0, len(spans) // 2, len(spans) - 1):
                off, length = spans[i]
                f.seek(base + off)
                assert archive.parse_row(table, f.read(length)) == rows[i]
