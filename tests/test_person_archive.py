"""After shutdown: the same answers from the archive package as from the live database — a
person's extract through the person index, and every organisation's bag."""

from __future__ import annotations

import filecmp
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from deploy.cli import main
from flows.wiring import PACKAGE_EXTRAS
from models.identity import parse_identity
from models.settings import get_settings
from tasks.archive.run import archive_database
from tasks.extracts.person import LivePersonLookup, build_person_extract, without_source
from tasks.extracts.person_index.archive_lookup import ArchivePersonLookup
from tasks.extracts.person_index.format import INDEX_NAME
from tasks.extracts.person_index.scan_lookup import ScanPersonLookup
from tasks.extracts.source import LiveSource
from tasks.synthetic import generate

#: The secret person index key of these tests' packages (``SAMSA_DECOM_PERSON_INDEX_KEY``).
KEY_A = "nyckel-A-regionarkivet-0123456789abcdef"
KEY_B = "nyckel-B-nagon-annan-0123456789abcdefgh"


@pytest.fixture(scope="module", autouse=True)
def _index_key() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAMSA_DECOM_PERSON_INDEX_KEY", KEY_A)
        yield


@pytest.fixture(scope="module")
def archived(_index_key: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("archived")
    url = f"sqlite:///{root / 'samsa.sqlite'}"
    generate(url, scale=3000, seed=8)
    outcome = archive_database(url, root / "packages", extras=PACKAGE_EXTRAS)
    assert outcome.verified, outcome.problems
    return url, outcome.package


def _identities(url: str) -> list[str]:
    eng = create_engine(url)
    with eng.connect() as c:
        rows = c.execute(text(
            "select identity from person where id in (1, 2, 3) or protected_identity = true "
            "or identity_kind <> 'personnummer' order by id limit 12"
        )).scalars().all()  # fmt: skip
    eng.dispose()
    return list(rows)


def _all_identities(url: str) -> list[str]:
    eng = create_engine(url)
    with eng.connect() as c:
        rows = c.execute(text("select identity from person")).scalars().all()
    eng.dispose()
    return list(rows)


def test_the_package_keeps_the_key_id_but_neither_the_key_nor_a_salt(
    archived: tuple[str, Path],
) -> None:
    """Whoever holds the package cannot hash every possible identity and compare: the hashes
    are keyed with a secret kept outside it. The package says which key it needs."""
    from tasks.archive.reader import find_siard
    from tasks.extracts.person_index.format import key_id, package_key, package_salt

    _, package = archived
    siard = find_siard(package)
    secrets = [KEY_A.encode(), package_salt(siard), package_key(KEY_A.encode(), siard)]
    secrets += [s.hex().encode() for s in secrets[1:]]
    for f in (p for p in package.rglob("*") if p.is_file()):
        data = f.read_bytes()
        assert [s for s in secrets if s in data] == [], f
    con = sqlite3.connect(package / "metadata" / "other" / INDEX_NAME)
    meta = dict(con.execute("select key, value from meta"))
    keyed = con.execute("select count(*) from person_key").fetchone()[0]
    con.close()
    assert "salt" not in meta and meta["key_id"] == key_id(KEY_A.encode())
    assert keyed == len(_all_identities(archived[0]))


@pytest.mark.parametrize("configured", [None, KEY_B])
def test_without_its_key_the_lookup_reads_the_person_table_and_says_so(
    archived: tuple[str, Path], configured: str | None, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No key, or another one: the same extract, found by reading the package's person table
    instead of the index, and a warning naming the key the package needs."""
    from tasks.extracts.person_index.format import key_id

    _, package = archived
    keyed = ArchivePersonLookup(package)
    if configured is None:
        monkeypatch.delenv("SAMSA_DECOM_PERSON_INDEX_KEY")
    else:
        monkeypatch.setenv("SAMSA_DECOM_PERSON_INDEX_KEY", configured)
    get_settings.cache_clear()
    with caplog.at_level("WARNING"):
        unkeyed = ArchivePersonLookup(package)
    try:
        assert keyed.fallback is None and unkeyed.fallback is not None
        assert f"needs index key {key_id(KEY_A.encode())}" in unkeyed.fallback
        assert unkeyed.fallback in caplog.text
        for identity in _identities(archived[0]):
            ident = parse_identity(identity)
            a = build_person_extract(keyed, ident, request_id="r", produced_on=date(2027, 1, 4))
            b = build_person_extract(unkeyed, ident, request_id="r", produced_on=date(2027, 1, 4))
            assert a == b and a["records"]
        assert identity not in caplog.text and identity[:8] + "-" + identity[8:] not in caplog.text
    finally:
        keyed.close()
        unkeyed.close()


def test_index_is_inside_the_package_and_in_its_mets(archived: tuple[str, Path]) -> None:
    _, package = archived
    index = package / "metadata" / "other" / INDEX_NAME
    assert index.exists()
    assert f"metadata/other/{INDEX_NAME}" in (package / "METS.xml").read_text(encoding="utf-8")
    con = sqlite3.connect(index)
    dumped = "\n".join(con.iterdump())
    con.close()
    for identity in _identities(archived[0]):
        assert identity not in dumped  # the index holds keyed hashes only


def test_live_and_archive_extracts_are_equal(archived: tuple[str, Path]) -> None:
    url, package = archived
    live_source = LiveSource(url)
    live = LivePersonLookup(live_source)
    indexed = ArchivePersonLookup(package)
    kinds = set()
    for identity in [*_identities(url), "19121212-1212"]:
        ident = parse_identity(identity)
        kinds.add(ident.kind)
        a = build_person_extract(live, ident, request_id="r", produced_on=date(2027, 1, 4))
        b = build_person_extract(indexed, ident, request_id="r", produced_on=date(2027, 1, 4))
        assert (a["source"], b["source"]) == ("live", "archive")
        assert without_source(a) == without_source(b)
    assert len(kinds) == 3  # personnummer, samordningsnummer and reserve numbers all tried
    scan = ScanPersonLookup(package)
    ident = parse_identity(_identities(url)[0])
    assert without_source(
        build_person_extract(scan, ident, request_id="r", produced_on=date(2027, 1, 4))
    ) == without_source(build_person_extract(live, ident, request_id="r",
                                             produced_on=date(2027, 1, 4)))  # fmt: skip
    live_source.close()
    indexed.close()
    scan.close()


def test_cli_answers_from_the_archive(
    archived: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, package = archived
    identity = _identities(url)[0]
    request = tmp_path / "request.txt"
    request.write_text(identity + "\n", encoding="utf-8")
    code = main(["extract", "person", "--file", str(request), "--archive", str(package),
                 "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "ur arkivpaketet" in out and identity not in out
    assert len(list(tmp_path.glob("granskningsexemplar-*.pdf"))) == 1  # the review copy
    assert not list(tmp_path.glob("registerutdrag-*"))  # released only after the review


def test_organisation_bags_from_the_archive_equal_those_from_the_database(
    archived: tuple[str, Path], tmp_path: Path
) -> None:
    url, package = archived
    assert main(["extract", "orgs", "--source", url, "--out", str(tmp_path / "live")]) == 0
    assert main(["extract", "orgs", "--archive", str(package), "--out", str(tmp_path / "arc")]) == 0
    live_files = sorted(p.relative_to(tmp_path / "live") for p in (tmp_path / "live").rglob("*"))
    arc_files = sorted(p.relative_to(tmp_path / "arc") for p in (tmp_path / "arc").rglob("*"))
    assert live_files == arc_files
    data = [p for p in live_files if p.parent.name == "data" and p.name != "README.txt"]
    assert len(data) > 100
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "live", tmp_path / "arc", data,
                                           shallow=False)  # fmt: skip
    assert mismatch == [] and errors == []


def test_live_and_archive_extracts_are_equal_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    generate(pg_url, scale=1500, seed=9)
    outcome = archive_database(pg_url, tmp_path / "packages", extras=PACKAGE_EXTRAS)
    assert outcome.verified, outcome.problems
    live_source = LiveSource(pg_url)
    live = LivePersonLookup(live_source)
    indexed = ArchivePersonLookup(outcome.package)
    for identity in _identities(pg_url):
        ident = parse_identity(identity)
        a = build_person_extract(live, ident, request_id="r", produced_on=date(2027, 1, 4))
        b = build_person_extract(indexed, ident, request_id="r", produced_on=date(2027, 1, 4))
        assert a["found"] and without_source(a) == without_source(b)
    live_source.close()
    indexed.close()


def test_an_index_in_the_first_format_is_still_read(
    archived: tuple[str, Path], tmp_path: Path
) -> None:
    """Packages made before the index grouped rows per person (format 1: one record per row)
    still answer, with the same extract."""
    import shutil

    from tasks.archive.reader import find_siard
    from tasks.extracts.person_index.format import (
        FORMAT_ONE_ROW_PER_RECORD,
        identity_key,
        package_key,
        package_salt,
        unpack_places,
    )

    url, package = archived
    old_package = tmp_path / package.name
    shutil.copytree(package, old_package)
    con = sqlite3.connect(old_package / "metadata" / "other" / INDEX_NAME)
    grouped = con.execute("SELECT tbl, places FROM row_loc").fetchall()
    con.executescript(
        'DROP TABLE row_loc; CREATE TABLE row_loc(person_id, tbl INTEGER, "offset" INTEGER, '
        "length INTEGER); CREATE INDEX ix_row_loc_person ON row_loc(person_id, tbl);"
    )
    con.executemany(
        "INSERT INTO row_loc VALUES (?, ?, ?, ?)",
        [(p, t, o, n) for t, blob in grouped for p, o, n in unpack_places(blob)],
    )
    con.execute("UPDATE meta SET value = ? WHERE key = 'format'", (FORMAT_ONE_ROW_PER_RECORD,))
    # format 1 keyed identities with a salt it stored in the package
    siard = find_siard(old_package)
    key, salt = package_key(KEY_A.encode(), siard), package_salt(siard)
    con.executemany("UPDATE person_key SET hkey = ? WHERE hkey = ?",
                    [(identity_key(salt, i), identity_key(key, i)) for i in _all_identities(url)])
    con.execute("INSERT INTO meta VALUES ('salt', ?)", (salt.hex(),))
    con.commit()
    con.close()
    old, new = ArchivePersonLookup(old_package), ArchivePersonLookup(package)
    try:
        assert old.format != new.format
        for identity in _identities(url):
            ident = parse_identity(identity)
            a = build_person_extract(old, ident, request_id="r", produced_on=date(2027, 1, 4))
            b = build_person_extract(new, ident, request_id="r", produced_on=date(2027, 1, 4))
            assert a == b and a["records"]
    finally:
        old.close()
        new.close()


def test_the_index_built_while_archiving_equals_one_built_from_the_package(
    archived: tuple[str, Path], tmp_path: Path
) -> None:
    """The archive run indexes each table as soon as it is in the .siard; building the index
    afterwards from the finished package gives the same file, and no identities are left
    waiting anywhere."""
    from tasks.archive.reader import find_siard
    from tasks.extracts.person_index.build import build_person_index

    url, package = archived
    again = build_person_index(find_siard(package), url, tmp_path / "again")
    made = package / "metadata" / "other" / INDEX_NAME
    assert again[0].read_bytes() == made.read_bytes()
    assert [p.name for p in (tmp_path / "again").iterdir()] == [INDEX_NAME]
    assert not list(package.parent.rglob("person-identities.tmp"))
