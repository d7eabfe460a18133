"""Bevarande och gallring keyed on table × organisation kind (issue 16 §3).

Each rule of :mod:`tasks.archive.retention` is tried the way a careless or hurried editor of
``retention.yaml`` would break it: a disposal without a gallringsbeslut, the PDL minimum used
as a deletion date, a disposal slipped into LSS through ``all``, a private provider's
hand-over given to a public record. The package's retention.xml must carry the keyed table.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.cli import main
from models.errors import ValidationFailed
from models.source import TABLE_ORDER
from tasks.archive.retention import (
    DEFAULT_RETENTION_PATH,
    RetentionKind,
    RetentionPlan,
    load_retention,
)

DECISION = {"authority": "Kommunstyrelsen i Borås", "reference": "KS 2026/00123"}
NS = {"r": "urn:samsa-decom:retention:2"}


def _shipped() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_RETENTION_PATH.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "retention.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _refused(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(ValidationFailed) as caught:
        load_retention(_write(tmp_path, data))
    return str(caught.value)


def _with(table: str, kind: str, cls: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(_shipped())
    data["tables"][table][kind] = cls
    return data


def test_the_shipped_plan_classifies_every_table_for_every_kind_and_disposes_of_nothing() -> None:
    plan = load_retention()
    assert set(plan.organisation_kinds) == {
        "region_hsl", "municipal_hsl", "social_services", "lss", "private_provider",
    }  # fmt: skip
    for table in TABLE_ORDER:
        by_kind = plan.for_table(table).by_kind
        assert RetentionKind.unclassified not in {r.kind for r in by_kind.values()}, table
        # no gallringsbeslut is known yet: nothing public is disposed of
        assert all(r.kind is not RetentionKind.gallras for r in by_kind.values()), table
    message = plan.for_table("message").by_kind
    assert message["region_hsl"].kind is RetentionKind.bevaras
    assert message["private_provider"].kind is RetentionKind.overlamnas
    assert "utanför arkivlagen" in plan.organisation_kinds["private_provider"].law
    assert "extract orgs" in plan.organisation_kinds["private_provider"].handover


def test_the_wrong_citations_are_gone_from_the_shipped_plan() -> None:
    text = DEFAULT_RETENTION_PATH.read_text(encoding="utf-8")
    assert "Arkivlagen 3 §" not in text
    assert "Arkivlagen 6 § p. 2" in text
    assert "SOSFS 2014:5" not in text and "HSLF-FS 2016:40" not in text
    assert "SoL (2025:400)" in text or "Socialtjänstlagen (2025:400)" in text
    log = load_retention().for_table("access_log").by_kind["region_hsl"]
    assert "4 kap. 3 §" in log.basis and "inte journalhandling" in log.basis
    assert "3 kap. 17 §" not in log.basis


def test_a_disposal_without_a_gallringsbeslut_is_refused(tmp_path: Path) -> None:
    said = _refused(tmp_path, _with("message", "region_hsl", {"class": "gallras", "years": 10}))
    assert "tables.message.region_hsl" in said
    assert "gallringsbeslut" in said and "bevaras" in said


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_gallringsbeslut_with_a_blank_reference_is_no_decision(
    tmp_path: Path, blank: str
) -> None:
    cls = {"class": "gallras", "years": 12, "gallringsbeslut": {**DECISION, "reference": blank}}
    said = _refused(tmp_path, _with("message", "region_hsl", cls))
    assert "gallringsbeslut.reference" in said


def test_the_pdl_minimum_is_never_a_deletion_date(tmp_path: Path) -> None:
    cls = {"class": "gallras", "years": 5, "gallringsbeslut": DECISION}
    said = _refused(tmp_path, _with("care_episode", "municipal_hsl", cls))
    assert "tables.care_episode.municipal_hsl" in said
    assert "minimum of 10 years" in said and "3 kap. 17 §" in said


def test_a_disposal_slipped_into_lss_through_all_is_refused(tmp_path: Path) -> None:
    data = copy.deepcopy(_shipped())
    data["tables"]["consent"] = {"all": {"class": "gallras", "years": 12,
                                         "gallringsbeslut": DECISION}}  # fmt: skip
    said = _refused(tmp_path, data)
    assert "tables.consent.lss" in said and "never disposed of" in said
    # and the private provider's records are not the authority's to dispose of by default
    assert "tables.consent.private_provider" not in said  # gallras is allowed there ...
    assert "tables.consent.region_hsl" not in said  # ... and 12 years keeps the PDL minimum


def test_a_public_record_cannot_be_handed_over_like_a_private_providers(tmp_path: Path) -> None:
    said = _refused(tmp_path, _with("message", "municipal_hsl", {"class": "överlämnas"}))
    assert "tables.message.municipal_hsl" in said and "public records" in said


def test_years_without_a_disposal_are_refused(tmp_path: Path) -> None:
    said = _refused(tmp_path, _with("message", "region_hsl", {"class": "bevaras", "years": 10}))
    assert "tables.message.region_hsl" in said and "takes no `years`" in said


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    said = _refused(tmp_path, _with("attachment", "hospital", {"class": "bevaras"}))
    assert "tables.attachment: unknown organisation kind hospital" in said


def test_a_table_that_leaves_out_a_kind_is_refused(tmp_path: Path) -> None:
    data = copy.deepcopy(_shipped())
    data["tables"]["sip_plan"] = {"region_hsl": {"class": "bevaras"}}
    said = _refused(tmp_path, data)
    assert (
        "tables.sip_plan: no class for municipal_hsl, social_services, lss, private_provider"
        in (said)
    )


def test_a_decided_disposal_is_accepted_and_cited() -> None:
    data = _with("consent", "social_services",
                 {"class": "gallras", "years": 5, "gallringsbeslut": DECISION})  # fmt: skip
    plan = RetentionPlan.model_validate(data)
    r = plan.for_table("consent").by_kind["social_services"]
    assert r.label() == (
        "gallras 5 år efter sista anteckningen "
        "(gallringsbeslut Kommunstyrelsen i Borås dnr KS 2026/00123)"
    )
    # a municipality's row may be health care, social services or LSS (SAMSA does not say
    # which): the class that keeps longest applies, so a decision for social services alone
    # disposes of none of them
    assert plan.for_rows("consent", "municipality").kind is RetentionKind.bevaras
    assert plan.for_rows("consent", "private_provider").kind is RetentionKind.overlamnas
    assert plan.for_rows("consent", "no_such_kind").kind is RetentionKind.unclassified


def test_archive_refuses_a_bad_retention_plan_in_one_place_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _write(tmp_path, _with("message", "region_hsl", {"class": "gallras", "years": 10}))
    work = tmp_path / "work"
    work.mkdir()
    source = f"sqlite:///{work / 'samsa.db'}"
    code = main(["archive", "--source", source, "--out", str(work / "pkg"),
                 "--retention", str(bad)])  # fmt: skip
    said = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in said.err + said.out
    assert f"{bad}:tables.message.region_hsl" in said.err and "gallringsbeslut" in said.err
    assert list(work.iterdir()) == []


def test_the_package_carries_the_keyed_table(tmp_path: Path) -> None:
    from tasks.archive.reader import open_siard
    from tasks.archive.run import archive_database
    from tasks.synthetic import generate
    from tests.archive_helpers import ARCHIVAL_DATE

    url = f"sqlite:///{tmp_path / 'samsa.db'}"
    generate(url, scale=400, seed=3)
    decided = {"class": "gallras", "years": 5, "gallringsbeslut": DECISION}
    plan = _write(tmp_path, _with("consent", "social_services", decided))
    outcome = archive_database(url, tmp_path / "out", archival_date=ARCHIVAL_DATE,
                               retention_path=plan)  # fmt: skip
    assert outcome.verified, outcome.problems
    root = ET.parse(outcome.package / "metadata" / "descriptive" / "retention.xml").getroot()
    kinds = {k.get("id"): k for k in root.findall("r:organisationKind", NS)}
    assert kinds["private_provider"].get("publicRecords") == "false"
    assert "extract orgs" in (kinds["private_provider"].findtext("r:handover", "", NS))
    assert kinds["lss"].get("neverDisposed") == "true"
    assert kinds["region_hsl"].get("minimumYears") == "10"
    consent = root.find("r:table[@name='consent']", NS)
    assert consent is not None
    classes = {c.get("organisationKind"): c for c in consent.findall("r:class", NS)}
    assert set(classes) == set(kinds)
    social = classes["social_services"]
    assert (social.get("class"), social.get("years")) == ("gallras", "5")
    assert social.get("gallringsbeslutReference") == "KS 2026/00123"
    assert classes["municipal_hsl"].get("class") == "bevaras"
    assert classes["private_provider"].get("class") == "överlämnas"
    with open_siard(outcome.package) as archive:
        described = archive.table("consent").description
    assert "KS 2026/00123" in described and "överlämnas (private_provider)" in described
