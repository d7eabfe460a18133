"""A verified archive holds the whole database: every schema, view, comment, check constraint,
routine and column type, on PostgreSQL through the C path and the generic path alike; what it
cannot hold stops the run before anything is written (exit 2, the full list); what the plan
excludes is named with its reason; a package that lacks part of the inventory is not verified."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import create_engine, text

from models.ledger import upgrade_ledger
from tasks.archive import run as archive_run
from tasks.archive.inventory import held_inventory
from tasks.archive.reader import find_siard, open_siard
from tasks.archive.resume import WORK_DIR_NAME
from tasks.archive.run import archive_database
from tasks.archive.verify import verify_package
from tests.archive_catalogue_db import PG_SCHEMAS, build_pg, schema_errors
from tests.archive_helpers import ARCHIVAL_DATE

ROOT = Path(__file__).resolve().parent.parent
M = "{http://www.bar.admin.ch/xmlns/siard/2/metadata.xsd}"
pytestmark = pytest.mark.postgres


def _archive(url: str, out: Path, c_path: bool, mp: pytest.MonkeyPatch, **kw: object) -> Path:
    mp.setenv("SAMSA_DECOM_ARCHIVE_C", "1" if c_path else "0")
    outcome = archive_database(url, out, archival_date=ARCHIVAL_DATE, **kw)  # type: ignore[arg-type]
    assert outcome.verified, outcome.problems
    return find_siard(outcome.package)


@pytest.fixture
def catalogue_db(pg_url: str) -> str:
    build_pg(pg_url)
    return pg_url


def _source(url: str, sql: str) -> list[tuple[object, ...]]:
    eng = create_engine(url)
    with eng.connect() as c:
        rows = [tuple(r) for r in c.execute(text(sql))]
    eng.dispose()
    return rows


def test_every_schema_view_comment_and_type_is_archived_and_reads_back(
    catalogue_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_c = _archive(catalogue_db, tmp_path / "c", True, monkeypatch)
    by_sql = _archive(catalogue_db, tmp_path / "sql", False, monkeypatch)
    generic = _archive(catalogue_db, tmp_path / "generic", True, monkeypatch, fast=False)
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (by_c, by_sql, generic)}
    assert len(set(digest.values())) == 1, "C, SQL and generic paths must write the same bytes"
    assert schema_errors(by_c) == []

    with zipfile.ZipFile(by_c) as zf:
        meta = etree.fromstring(zf.read("header/metadata.xml"))
        names = set(zf.namelist())
    schemas = {s.findtext(f"{M}name"): s for s in meta.iter(f"{M}schema")}
    assert list(schemas) == PG_SCHEMAS
    assert [s.findtext(f"{M}folder") for s in schemas.values()] == [
        "schema0", "schema1", "schema2"
    ]  # fmt: skip
    assert "content/schema2/table0/table0.xml" in names  # "ärenden och beslut".beslut
    vard = schemas["vård"]
    assert vard.findtext(f"{M}description") == "Vårdens egna tabeller"
    view = vard.find(f"{M}views/{M}view")
    assert view.findtext(f"{M}name") == "pågående"
    assert "WHERE" in view.findtext(f"{M}queryOriginal")
    assert view.findtext(f"{M}description") == "Pågående ärenden"
    assert [c.findtext(f"{M}name") for c in view.iter(f"{M}column")] == ["id", "status", "uid"]
    types = {
        t.findtext(f"{M}name"): t for t in vard.iter(f"{M}type") if t.find(f"{M}base") is not None
    }
    assert "planerad, pågår, avslutad" in types["status"].findtext(f"{M}description")
    assert types["postnummer"].findtext(f"{M}base") == "VARCHAR(6)"
    enhet = schemas["public"].find(f"{M}tables/{M}table")
    assert enhet.findtext(f"{M}description").startswith("Organisatoriska enheter\nRetention: ")
    assert enhet.findtext(f"{M}checkConstraints/{M}checkConstraint/{M}name") == "namn_ej_tomt"
    columns = {c.findtext(f"{M}name"): c for c in meta.iter(f"{M}column")}
    assert columns["namn"].findtext(f"{M}description") == "Enhetens namn, så som det skrivs"
    want_types = {
        "uid": "CHAR(36)", "j": "CLOB", "jb": "CLOB", "x": "XML", "ip": "VARCHAR(43)",
        "mac": "VARCHAR(17)", "pengar": "DECIMAL(19, 2)", "bitar": "CHAR(4)",
        "varbitar": "VARCHAR(10)", "tal": "DECIMAL", "sök": "CLOB", "status": "VARCHAR(8)",
        "längd": "INTERVAL YEAR TO SECOND", "kort": "INTERVAL DAY TO SECOND",
        "månader": "INTERVAL YEAR TO MONTH", "tid": "TIME WITH TIME ZONE", "heltal": "INTEGER",
    }  # fmt: skip
    assert {n: columns[n].findtext(f"{M}type") for n in want_types} == want_types
    assert columns["heltal"].findtext(f"{M}cardinality") == "3"
    assert columns["texter"].findtext(f"{M}cardinality") == "6"
    assert columns["jb"].findtext(f"{M}typeOriginal") == "JSONB"
    assert columns["status"].findtext(f"{M}typeOriginal") == '"vård".status'
    routine = schemas["ärenden och beslut"].find(f"{M}routines/{M}routine")
    assert routine.findtext(f"{M}specificName") == "antal_beslut()"
    assert routine.findtext(f"{M}description") == "Antal beslut"
    assert "Sequence: beslutsnummer" in schemas["ärenden och beslut"].findtext(f"{M}description")
    assert [u.findtext(f"{M}name") for u in meta.iter(f"{M}user")] == ["postgres"]

    with open_siard(by_c) as archive:
        assert [t.key for t in archive.tables()] == [
            "enhet", "vård.texttyper", "vård.tidtyper", "ärenden och beslut.beslut"
        ]  # fmt: skip
        texts = list(archive.rows("vård.texttyper"))
        times = list(archive.rows("vård.tidtyper"))
        assert list(archive.rows("enhet")) == _source(
            catalogue_db, "SELECT * FROM enhet ORDER BY 1"
        )
    as_text = ", ".join(
        {"pengar": "pengar::numeric", "tal": "tal"}.get(c, f"format('%s', {c})")
        for c in ('uid j jb x ip "nät" mac mac8 pengar bitar varbitar tal "sök" status postnr '
                  "spann").split()
    )  # fmt: skip
    want = _source(catalogue_db, f'SELECT id, {as_text} FROM "vård".texttyper ORDER BY id')
    want[1] = (2, *[None] * 16)  # format() of NULL is ''; the archive keeps NULL
    assert [tuple(r) for r in texts] == [tuple(r) for r in want]
    assert texts[2][5] == "::1" and texts[0][9] == Decimal("1234.56")
    assert times[0] == (
        1, "P1Y2M3DT4H5M6.500000S", timedelta(days=3, seconds=3723), "P2Y3M0DT0H0M0S",
        time(10, 34, 56, 789000), [1, None, 3],
        ["ett", None, "två 😀", "  mellanslag  ", "b\\s", ""],
        ["planerad", "avslutad"], [datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)], 1.5e300, 0.25,
    )  # fmt: skip
    assert times[1] == (2, *[None] * 10)
    assert times[2][:8] == (
        3, -timedelta(days=3, hours=4), -timedelta(seconds=1.5), "-P1Y0M0DT0H0M0S", time(0, 0),
        [], [], [],
    )  # fmt: skip


def test_the_package_states_the_inventory_and_verify_deep_checks_it(
    catalogue_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = archive_database(catalogue_db, tmp_path / "out", archival_date=ARCHIVAL_DATE)
    assert outcome.verified, outcome.problems
    counts = outcome.inventory.counts()
    assert counts == {
        "schemas": 3, "tables": 4, "views": 2, "columns": 38, "rows": 10, "routines": 1,
        "checks": 2, "comments": 7, "sequences": 1, "types": 2,
    }  # fmt: skip
    summary = outcome.inventory.summary()
    premis = (outcome.package / "metadata/preservation/premis.xml").read_text()
    assert f"<significantPropertiesValue>{summary}</significantPropertiesValue>" in premis
    assert "completeness: the inventory of the source" in premis
    report = (outcome.package / "documentation/archive-report.md").read_text()
    assert "## Completeness" in report and "| 3 | 4 | 2 | 38 | 10 |" in report
    verdict = verify_package(outcome.package, deep=True)
    assert verdict.ok, verdict.problems
    with zipfile.ZipFile(find_siard(outcome.package)) as zf:
        assert held_inventory(zf.read("header/metadata.xml")).counts() == counts


def test_an_archive_missing_a_view_is_not_verified(
    catalogue_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = archive_run.metadata_xml

    def without_views(*args: object, **kw: object) -> bytes:
        doc = real(*args, **kw)  # type: ignore[arg-type]
        start, end = doc.index(b"      <views>"), doc.index(b"      </views>\n")
        return doc[:start] + doc[end + len(b"      </views>\n") :]

    monkeypatch.setattr(archive_run, "metadata_xml", without_views)
    outcome = archive_database(catalogue_db, tmp_path / "out", archival_date=ARCHIVAL_DATE)
    assert not outcome.verified
    assert "completeness: view vård.pågående is in the source, not in the archive" in (
        outcome.problems
    )
    assert "NOT verified" in (outcome.package / "documentation/archive-report.md").read_text()


def test_the_two_schema_case_of_the_issue_archives_both(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = create_engine(pg_url)
    with eng.begin() as c:
        c.exec_driver_sql(
            'CREATE TABLE public.a (id int PRIMARY KEY); CREATE SCHEMA "vård"; '
            'CREATE TABLE "vård".b (id int PRIMARY KEY, t text); INSERT INTO "vård".b VALUES (1, '
            '\'x\'); CREATE VIEW "vård".v AS SELECT t FROM "vård".b'
        )
    eng.dispose()
    outcome = archive_database(pg_url, tmp_path / "out", archival_date=ARCHIVAL_DATE)
    assert outcome.verified and [t.name for t in outcome.tables] == ["a", "vård.b"]
    assert outcome.inventory.views == ["vård.v"] and outcome.total_rows == 1


UNREPRESENTABLE = r"""
CREATE SCHEMA "konstigt schema";
CREATE TYPE "konstigt schema".egen;
CREATE FUNCTION "konstigt schema".egen_in(cstring) RETURNS "konstigt schema".egen
  AS 'int4in' LANGUAGE internal IMMUTABLE STRICT;
CREATE FUNCTION "konstigt schema".egen_out("konstigt schema".egen) RETURNS cstring
  AS 'int4out' LANGUAGE internal IMMUTABLE STRICT;
CREATE TYPE "konstigt schema".egen (INPUT = "konstigt schema".egen_in,
  OUTPUT = "konstigt schema".egen_out, LIKE = integer);
CREATE TYPE "konstigt schema".adress AS (gata text, nr int);
CREATE TABLE "konstigt schema".t (id int PRIMARY KEY, e "konstigt schema".egen,
  a "konstigt schema".adress, m int[], i interval, ok text);
INSERT INTO "konstigt schema".t VALUES (1, '5', ROW('Storgatan', 1), '{{1,2},{3,4}}',
  '1 mon -1 day', 'fine');
CREATE TABLE public.fin (id int PRIMARY KEY);
"""
BAD_COLUMNS = [
    "konstigt schema.t.e", "konstigt schema.t.a", "konstigt schema.t.m", "konstigt schema.t.i",
]  # fmt: skip


def _cli(url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    ledger = f"sqlite:///{out.parent / 'l.sqlite'}"
    upgrade_ledger(ledger)  # as an operator does once (samsa-decom upgrade-ledger)
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", "archive", "--source", url, "--out", str(out),
         "--date", ARCHIVAL_DATE.isoformat(), "--ledger", ledger, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_what_the_archive_cannot_hold_is_listed_at_once_and_nothing_is_written(
    pg_url: str, tmp_path: Path
) -> None:
    eng = create_engine(pg_url)
    with eng.begin() as c:
        c.exec_driver_sql(UNREPRESENTABLE)
    eng.dispose()
    out = tmp_path / "out"
    done = _cli(pg_url, out)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    for column in BAD_COLUMNS:
        assert done.stderr.count(column) == 1, done.stderr
    assert "a user-defined base type" in done.stderr
    assert "a composite type" in done.stderr
    assert "2 dimensions" in done.stderr and "different signs" in done.stderr
    assert "Storgatan" not in done.stderr  # no values in errors
    assert not out.exists()  # nothing written: not even the run's lock file or the folder

    # excluded on purpose, with the reason and who decided: archived without them, verified
    plan = tmp_path / "exclusions.yaml"
    plan.write_text(
        "exclusions:\n"
        + "".join(
            f'  - object: "{c}"\n    reason: "no SIARD form; the value is in the paper file"\n'
            '    decided_by: "Regionarkivet, arkivarie"\n'
            for c in BAD_COLUMNS
        ),
        encoding="utf-8",
    )
    done = _cli(pg_url, out, "--exclusions", str(plan))
    assert done.returncode == 0, done.stderr
    package = Path(done.stdout.strip().splitlines()[-1])
    report = (package / "documentation/archive-report.md").read_text()
    assert "konstigt schema.t.e (reason: no SIARD form" in report
    with open_siard(package) as archive:
        t = archive.table("konstigt schema.t")
        assert [c.name for c in t.columns] == ["id", "ok"]
        assert list(archive.rows(t)) == [(1, "fine")]

    plan.write_text(
        'exclusions:\n  - object: "konstigt schema.nothing"\n'
        '    reason: "x"\n    decided_by: "y"\n',
        encoding="utf-8",
    )
    done = _cli(pg_url, tmp_path / "out2", "--exclusions", str(plan))
    assert done.returncode == 2
    assert "konstigt schema.nothing: the exclusion list names it" in done.stderr


SQLITE_DDL = [
    """CREATE TABLE typer (id INTEGER PRIMARY KEY, a TEXT, b BLOB, r REAL, n NUMERIC(10,2),
       bo BOOLEAN, da DATE, dt DATETIME, v VARCHAR(20), j JSON, u UUID, x, s STRING,
       dbl DOUBLE, CONSTRAINT n_ej_negativt CHECK (n >= 0))""",
    "CREATE VIEW dyra AS SELECT id, n FROM typer WHERE n > 100",
    """INSERT INTO typer VALUES (1, 'emoji 😀', X'00FF', 0.5, 123.45, 1, '0001-01-01',
       '9999-12-31 23:59:59.000000', 'kort', '{"a": 1}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
       'vad som helst', 'sträng', -1.5e300)""",
    "INSERT INTO typer (id) VALUES (2)",
]


@pytest.mark.parametrize("fast", [True, False])
def test_sqlite_types_by_their_declared_names_and_affinity(tmp_path: Path, fast: bool) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    eng = create_engine(url)
    with eng.begin() as c:
        for stmt in SQLITE_DDL:
            c.exec_driver_sql(stmt)
    eng.dispose()
    outcome = archive_database(url, tmp_path / "out", archival_date=ARCHIVAL_DATE, fast=fast)
    assert outcome.verified, outcome.problems
    assert outcome.inventory.views == ["main.dyra"] and outcome.inventory.checks == [
        "main.typer.n_ej_negativt"
    ]
    siard = find_siard(outcome.package)
    with open_siard(siard) as archive:
        t = archive.table("typer")
        types = {c.name: (c.sql_type, c.type_original) for c in t.columns}
        rows = list(archive.rows(t))
    assert types["u"] == ("CLOB", "UUID") and types["x"] == ("CLOB", "")
    assert types["s"] == ("CLOB", "STRING") and types["j"][0] == "CLOB"
    assert rows[0][10:13] == ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "vad som helst", "sträng")
    assert rows[0][4] == Decimal("123.45") and rows[1] == (2, *[None] * 13)


def test_users_and_granted_privileges_are_recorded(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    role = f"samsa_läsare_{uuid.uuid4().hex[:8]}"  # roles are per server: a unique name
    eng = create_engine(pg_url)
    try:
        with eng.begin() as c:
            c.exec_driver_sql(f'CREATE ROLE "{role}"')
            c.exec_driver_sql(
                'CREATE SCHEMA "vård"; CREATE TABLE "vård".t (id int PRIMARY KEY); '
                f'GRANT SELECT ON "vård".t TO "{role}" WITH GRANT OPTION'
            )
        outcome = archive_database(pg_url, tmp_path / "out", archival_date=ARCHIVAL_DATE)
        assert outcome.verified, outcome.problems
        with zipfile.ZipFile(find_siard(outcome.package)) as zf:
            meta = etree.fromstring(zf.read("header/metadata.xml"))
        assert [u.findtext(f"{M}name") for u in meta.iter(f"{M}user")] == ["postgres", role]
        granted = [
            tuple(p.findtext(f"{M}{k}") for k in ("type", "object", "grantor", "grantee", "option"))
            for p in meta.iter(f"{M}privilege")
        ]
        assert granted == [("SELECT", 'TABLE "vård"."t"', "postgres", role, "GRANT")]
    finally:
        with eng.begin() as c:
            c.exec_driver_sql(f'DROP OWNED BY "{role}"; DROP ROLE IF EXISTS "{role}"')
        eng.dispose()


def test_a_run_stopped_in_the_second_schema_resumes_to_the_same_package(
    catalogue_db: str, tmp_path: Path
) -> None:
    from tests.archive_helpers import same_tree

    reference = archive_database(catalogue_db, tmp_path / "reference", archival_date=ARCHIVAL_DATE)
    out = tmp_path / "out"

    def stop_in_vard(table: str) -> None:
        if table == "vård.texttyper":
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        archive_database(catalogue_db, out, archival_date=ARCHIVAL_DATE, after_table=stop_in_vard)
    work = next((out / WORK_DIR_NAME).iterdir())
    assert (work / "tables" / "schema1-table0" / "result.json").exists()
    again = archive_database(catalogue_db, out, archival_date=ARCHIVAL_DATE)
    assert again.verified, again.problems
    assert again.resumed_tables == ["enhet", "vård.texttyper"]
    assert same_tree(again.package, reference.package) == []
