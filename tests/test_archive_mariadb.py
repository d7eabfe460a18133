"""The archive does not depend on PostgreSQL: a MariaDB server (three databases, MariaDB's
schemas, one with Swedish letters and a space in its name) is archived through the generic path
with PyMySQL, validates against the official and per-table XSDs, reads back equal, holds every
schema, view, comment, check constraint and routine, and verifies."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from tasks.archive.reader import find_siard, open_siard
from tasks.archive.run import archive_database
from tasks.archive.verify import verify_package
from tests.archive_catalogue_db import build_mariadb, schema_errors
from tests.archive_helpers import ARCHIVAL_DATE

M = "{http://www.bar.admin.ch/xmlns/siard/2/metadata.xsd}"
pytestmark = pytest.mark.mariadb


def test_a_mariadb_server_archives_whole_and_reads_back(
    mariadb_urls: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, names = mariadb_urls
    build_mariadb(url, names)
    outcome = archive_database(url, tmp_path / "out", archival_date=ARCHIVAL_DATE, schemas=names)
    assert outcome.verified, outcome.problems
    assert outcome.inventory.counts() == {
        "schemas": 3, "tables": 3, "views": 1, "columns": 28, "rows": 7, "routines": 1,
        "checks": 2, "comments": 3, "sequences": 0, "types": 0,
    }  # fmt: skip
    assert outcome.excluded == [
        "every schema not named with --schema (reason: outside the chosen scope; decided by the "
        f"operator of this run; chosen: {', '.join([names[0], *sorted(names[1:])])})"
    ]
    report = (outcome.package / "documentation/archive-report.md").read_text()
    assert "every schema not named with --schema" in report
    siard = find_siard(outcome.package)
    assert schema_errors(siard) == []
    with zipfile.ZipFile(siard) as zf:
        meta = etree.fromstring(zf.read("header/metadata.xml"))
    assert meta.findtext(f"{M}databaseProduct").startswith("MariaDB ")
    schemas = [s.findtext(f"{M}name") for s in meta.iter(f"{M}schema")]
    assert schemas[0] == names[0] and sorted(schemas) == sorted(names)
    view = meta.find(f".//{M}view")
    assert view.findtext(f"{M}name") == "pågående" and "pågår" in view.findtext(f"{M}queryOriginal")
    routine = meta.find(f".//{M}routine")
    assert routine.findtext(f"{M}name") == "antal_beslut"
    assert routine.findtext(f"{M}description") == "Antal beslut"
    columns = {c.findtext(f"{M}name"): c for c in meta.iter(f"{M}column")}
    assert columns["namn"].findtext(f"{M}description") == "Enhetens namn"
    assert columns["ts"].findtext(f"{M}type") == "TIMESTAMP"
    assert columns["status"].findtext(f"{M}typeOriginal") == "ENUM('planerad','pågår','avslutad')"
    checks = [c.findtext(f"{M}name") for c in meta.iter(f"{M}checkConstraint")]
    assert sorted(checks) == ["belopp_ej_negativt", "namn_ej_tomt"]

    with open_siard(siard) as archive:
        assert list(archive.rows("enhet")) == [(1, "Vårdcentral Öster 😀"), (2, "tab\there\r\nCR")]
        typer = list(archive.rows(f"{names[1]}.typer"))
        beslut = list(archive.rows(f"{names[2]}.beslut"))
    assert typer[0] == (
        1, "emoji 😀 and RTL שלום", datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
        Decimal("1234.567"), b"\x00\xff\x10", '{"a": [1, 2.5]}', "pågår",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 1.5e300, time(12, 34, 56, 789000),
        date(1, 1, 2), 1, -128, 2**63 - 1, b"\xde\xad\xbe\xef",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "2001:db8::1", 5, 2027, "a,b", 0.5,
    )  # fmt: skip
    assert typer[1] == (2, *[None] * 20)
    assert typer[2][15:] == ("ffffffff-ffff-ffff-ffff-ffffffffffff", "::ffff:1.2.3.4", 0, 1901,
                             "", -0.25)  # fmt: skip
    want_types = {"u": "CHAR(36)", "ip": "VARCHAR(45)", "bitar": "BIGINT", "år": "SMALLINT",
                  "val": "VARCHAR(255)", "j": "CLOB", "data": "BLOB"}  # fmt: skip
    assert {n: columns[n].findtext(f"{M}type") for n in want_types} == want_types
    assert typer[2][2] == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert typer[2][10] == date(9999, 12, 31) and typer[2][13] == -(2**63)
    assert beslut == [(10, 1, "Beviljas"), (11, None, None)]
    verdict = verify_package(outcome.package, deep=True)
    assert verdict.ok, verdict.problems


def test_a_mariadb_schema_that_is_not_there_is_bad_input(
    mariadb_urls: tuple[str, list[str]], tmp_path: Path
) -> None:
    from models.errors import InputError

    url, names = mariadb_urls
    build_mariadb(url, names)
    with pytest.raises(InputError, match="no schema 'samsa_no_such_db'"):
        archive_database(url, tmp_path / "out", schemas=[names[0], "samsa_no_such_db"])
    assert not (tmp_path / "out").exists() or not any(
        p.name.startswith("samsa-") for p in (tmp_path / "out").iterdir()
    )


def test_the_synthetic_database_on_mariadb_archives_and_reads_back(
    mariadb_urls: tuple[str, list[str]], tmp_path: Path
) -> None:
    from tasks.synthetic import generate
    from tests.archive_helpers import source_rows

    url, names = mariadb_urls
    report = generate(url, scale=2000, seed=7)
    outcome = archive_database(
        url, tmp_path / "out", archival_date=ARCHIVAL_DATE, schemas=[names[0]]
    )
    assert outcome.verified, outcome.problems
    assert outcome.total_rows == sum(report.rows.values())
    with open_siard(outcome.package) as archive:
        for table in ("message", "attachment", "person", "care_episode"):
            assert list(archive.rows(table)) == source_rows(url, table), table


def test_mariadb_grants_on_the_archived_databases_are_recorded(
    mariadb_urls: tuple[str, list[str]], tmp_path: Path
) -> None:
    import uuid

    from sqlalchemy import create_engine

    url, names = mariadb_urls
    build_mariadb(url, names)
    user = f"samsa_läsare_{uuid.uuid4().hex[:8]}"  # users are per server: a unique name
    eng = create_engine(url)
    try:
        with eng.begin() as c:
            c.exec_driver_sql(f"CREATE USER '{user}'@'localhost'")
            c.exec_driver_sql(f"GRANT SELECT ON `{names[1]}`.`typer` TO '{user}'@'localhost'")
        outcome = archive_database(
            url, tmp_path / "out", archival_date=ARCHIVAL_DATE, schemas=names
        )
        assert outcome.verified, outcome.problems
        with zipfile.ZipFile(find_siard(outcome.package)) as zf:
            meta = etree.fromstring(zf.read("header/metadata.xml"))
        grantee = f"'{user}'@'localhost'"
        assert grantee in [u.findtext(f"{M}name") for u in meta.iter(f"{M}user")]
        granted = [
            (p.findtext(f"{M}type"), p.findtext(f"{M}object"), p.findtext(f"{M}grantee"))
            for p in meta.iter(f"{M}privilege")
        ]
        assert granted == [("SELECT", f"TABLE `{names[1]}`.`typer`", grantee)]
    finally:
        with eng.begin() as c:
            c.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'localhost'")
        eng.dispose()
