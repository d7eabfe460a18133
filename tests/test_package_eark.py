"""The E-ARK SIP around the .siard: METS and PREMIS valid against their schemas, the real
eark-validator finds no error except one rule that contradicts CSIP itself, every file has a
SHA-256, extra content from PACKAGE_EXTRAS is covered, and the output is deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from flows.wiring import PACKAGE_EXTRAS
from tasks.archive import STANDARDS_DIR
from tasks.archive.run import archive_database
from tasks.archive.verify import verify_package
from tasks.synthetic import generate
from tests.archive_helpers import ARCHIVAL_DATE, make_pg_database, same_tree
from tests.eark_offline import validate_package

SHARED = Path("/work/shared/standards")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def package(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp(f"pkg-{request.param}")
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'db.sqlite'}"
    else:
        url, drop = make_pg_database(request.getfixturevalue("pg_server"))
    try:
        generate(url, scale=3000, seed=4)
        outcome = archive_database(
            url, tmp / "out", archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS
        )
        assert outcome.verified
        yield outcome.package
    finally:
        if drop:
            drop()


def _mets_schema() -> xmlschema.XMLSchema:
    base = SHARED if SHARED.exists() else STANDARDS_DIR
    mets = base / "mets/1.12/mets.xsd" if SHARED.exists() else STANDARDS_DIR / "mets.xsd"
    xlink = base / "xlink/xlink.xsd" if SHARED.exists() else STANDARDS_DIR / "xlink.xsd"
    return xmlschema.XMLSchema(
        str(mets),
        locations=[
            ("http://www.w3.org/1999/xlink", str(xlink)),
            (
                "https://DILCIS.eu/XML/METS/CSIPExtensionMETS",
                str(STANDARDS_DIR / "DILCISExtensionMETS.xsd"),
            ),
            (
                "https://DILCIS.eu/XML/METS/SIPExtensionMETS",
                str(STANDARDS_DIR / "DILCISExtensionSIPMETS.xsd"),
            ),
        ],
        uri_mapper=lambda uri: str(xlink) if uri.endswith("xlink.xsd") else uri,
        allow="local",
    )


def test_mets_and_premis_are_schema_valid(package: Path) -> None:
    schema = _mets_schema()
    schema.validate(str(package / "METS.xml"))
    schema.validate(str(package / "representations/rep1/METS.xml"))
    premis = xmlschema.XMLSchema(str(STANDARDS_DIR / "premis.xsd"))
    premis.validate(str(package / "metadata/preservation/premis.xml"))
    root = etree.parse(str(package / "METS.xml")).getroot()
    assert root.get("TYPE") == "Databases"
    assert (
        root.get("{https://DILCIS.eu/XML/METS/CSIPExtensionMETS}CONTENTINFORMATIONTYPE")
        == "citssiard_v1_0"
    )
    events = etree.parse(str(package / "metadata/preservation/premis.xml")).findall(
        ".//{http://www.loc.gov/premis/v3}eventType"
    )
    assert [e.text for e in events] == [
        "extraction",
        "validation",
        "validation",
        "message digest calculation",
    ]  # the second validation: completeness against the inventory


def test_eark_validator_finds_no_error_but_the_self_contradicting_sip14(package: Path) -> None:
    """eark-validator 1.1.3 (rules V2.1.0) asserts SIP14 — a plain ``@NOTETYPE`` on the note of
    every CREATOR agent — while CSIP11-16 require a CREATOR software agent whose single note
    has ``csip:NOTETYPE="SOFTWARE VERSION"``, and METS' schema forbids an unqualified
    attribute on ``note``. No METS can satisfy all three; everything else must pass."""
    errors, report = validate_package(package)
    assert report.structure.status.value.lower() == "wellformed"  # the best structure status
    assert report.metadata.schema_results.status.value.lower() == "valid"
    assert [e["rule_id"] for e in errors] == ["SIP14"]
    assert "agent" in errors[0]["location"] and "note" in errors[0]["location"]


def test_every_file_has_a_checksum_and_verify_passes(package: Path) -> None:
    verdict = verify_package(package, deep=True)
    assert verdict.ok, [str(p) for p in verdict.problems]
    files = [p for p in package.rglob("*") if p.is_file()]
    assert verdict.files_checked == len(files) - 1  # all but the root METS.xml itself
    assert verdict.tables_checked == 14


def test_same_source_gives_the_same_package_byte_for_byte(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=2000, seed=8)
    a = archive_database(url, tmp_path / "a", archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS)
    b = archive_database(url, tmp_path / "b", archival_date=ARCHIVAL_DATE, extras=PACKAGE_EXTRAS)
    assert a.objid == b.objid
    assert same_tree(a.package, b.package) == []


def test_package_extras_are_included_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[Path, str]] = []

    def person_index(siard: Path, source_url: str, work: Path) -> list[Path]:
        seen.append((siard, source_url))
        out = work / "person-index.json"
        out.write_text('{"example": true}')
        return [out]

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=1500, seed=2)
    outcome = archive_database(
        url, tmp_path / "out", archival_date=ARCHIVAL_DATE, extras=[person_index]
    )
    assert seen and seen[0][0].suffix == ".siard" and seen[0][1] == url
    extra = outcome.package / "metadata/other/person-index.json"
    assert extra.read_text() == '{"example": true}'
    assert "metadata/other/person-index.json" in (outcome.package / "METS.xml").read_text()
    assert verify_package(outcome.package).ok
    extra.write_text('{"example": false}')
    problems = verify_package(outcome.package).problems
    assert [(p.path, p.kind) for p in problems] == [("metadata/other/person-index.json", "damaged")]
