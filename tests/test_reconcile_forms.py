"""The decision form a person fills in (pydantic, rendered by the Prefect UI)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flows.forms import MilestoneDecision
from models.identity import scrub_identities


def test_the_approver_name_is_required_and_tidied() -> None:
    assert MilestoneDecision(approver="  Anna   Andersson ").approver == "Anna Andersson"
    for bad in ("", "   "):
        with pytest.raises(ValidationError, match="approver"):
            MilestoneDecision(approver=bad)
    with pytest.raises(ValidationError, match="inte ett personnummer"):
        MilestoneDecision(approver="19121212-1212")


def test_a_decision_defaults_to_no() -> None:
    d = MilestoneDecision(approver="Bo")
    assert d.approved is False and d.comment == ""


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("se 19121212-1212", "se 19121212-****"),
        ("se 191212121212 och 121212-1212", "se 19121212-**** och 121212-****"),
        ("samordningsnummer 19701263-2391", "samordningsnummer 19701263-****"),
        ("ärende 2026-03-01, 12 kommuner", "ärende 2026-03-01, 12 kommuner"),
    ],
)
def test_comments_never_keep_a_personnummer(text: str, masked: str) -> None:
    assert scrub_identities(text) == masked
    assert MilestoneDecision(approver="Bo", comment=text).comment == masked


def test_the_form_schema_is_what_the_ui_renders() -> None:
    schema = MilestoneDecision.with_initial_data(description="**Beslut**").model_json_schema()
    props = schema["properties"]
    assert props["approver"]["title"] == "Ditt namn (godkännare)"
    assert props["approved"]["type"] == "boolean" and "comment" in props
    assert "approver" in schema["required"]
