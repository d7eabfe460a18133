"""The decision form a person fills in (pydantic, rendered by the Prefect UI)."""

from __future__ import annotations

import jsonschema
import pytest
from pydantic import ValidationError

from flows.extracts import ReceiptConfirmation
from flows.forms import DecisionForm, MilestoneDecision
from flows.integrations import ShutdownApproval, StepConfirmation
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


@pytest.mark.parametrize(
    ("cls", "name_field", "extra"),
    [
        (MilestoneDecision, "approver", {}),
        (ShutdownApproval, "approver", {}),
        (StepConfirmation, "confirmed_by", {}),
        (ReceiptConfirmation, "confirmed_by", {"received": True}),
    ],
)
def test_every_decision_form_follows_the_same_three_rules(
    cls: type[DecisionForm], name_field: str, extra: dict[str, object]
) -> None:
    """One base for all four forms: a name is required and is never an identity number, and
    the comment is masked."""
    assert issubclass(cls, DecisionForm)
    ok = cls(**{name_field: " Eva  Ek ", "comment": "gäller 19121212-1212", **extra})
    assert getattr(ok, name_field) == "Eva Ek"
    assert ok.comment == "gäller 19121212-****"
    for bad, said in (("19121212-1212", "inte ett personnummer"), ("  ", "får inte vara tomt")):
        with pytest.raises(ValidationError, match=said):
            cls(**{name_field: bad, **extra})
    # …and the schema the server checks before it stores an answer refuses identities outright
    validator = jsonschema.Draft202012Validator(cls.model_json_schema())
    texts = [f for f, v in cls.model_fields.items() if v.annotation is str]
    shaped = {"code", "diarienummer"}  # a one-time code and a case number: their own shapes
    assert sorted(t for t in texts if t not in shaped) == sorted([name_field, "comment"])
    for field in texts:
        base = {name_field: "Eva Ek", **extra}
        if field not in shaped:
            assert validator.is_valid({**base, field: "Eva Ek, ärende 2026-03-01"})
        for identity in ("19121212-1212", "191212121212", "121212-1212", "19121212K123"):
            assert not validator.is_valid({**base, field: f"gäller {identity} nu"}), identity


def test_the_fields_show_in_the_forms_order_name_decision_comment() -> None:
    assert list(MilestoneDecision.model_fields) == [
        "approver", "approved", "code", "diarienummer", "comment"]
    assert list(ShutdownApproval.model_fields) == ["approver", "approved", "code", "comment"]
    assert list(StepConfirmation.model_fields) == ["confirmed_by", "done", "comment"]
    assert list(ReceiptConfirmation.model_fields) == ["confirmed_by", "received", "comment"]


def test_a_form_without_the_rules_fails_when_it_is_defined() -> None:
    with pytest.raises(TypeError, match="needs a PersonName field"):

        class Loose(DecisionForm):  # a plain str name and comment: refused at import
            approver: str
            comment: str = ""

    with pytest.raises(TypeError, match="free text must be a PersonName, a MaskedComment, a "
                       "OneTimeCode or a CaseNumber: note"):

        class Chatty(MilestoneDecision):  # another free-text field, unchecked: refused too
            note: str = ""


@pytest.mark.parametrize(
    ("data", "field", "said"),
    [
        ({}, "approver", "Fältet måste fyllas i."),
        ({"approver": ""}, "approver", "Skriv minst 1 tecken."),
        ({"approver": "A" * 201}, "approver", "Skriv högst 200 tecken."),
        ({"approver": "Eva Ek", "approved": "kanske"}, "approved", "Välj ja eller nej."),
        ({"approver": "Eva Ek", "comment": "x" * 2001}, "comment", "Skriv högst 2000 tecken."),
        ({"approver": "19121212-1212"}, "approver", "Skriv ditt namn, inte ett personnummer"),
    ],
)
def test_a_bad_answer_in_a_form_is_told_in_swedish(
    data: dict[str, object], field: str, said: str
) -> None:
    """The problems of a form read like its titles, in Swedish, and never repeat an identity."""
    with pytest.raises(ValidationError) as caught:
        MilestoneDecision(**data)
    [problem] = caught.value.errors()
    assert problem["loc"] == (field,)
    assert problem["msg"].startswith(said)
    text = str(caught.value)
    for english in ("String should", "Input should", "Field required", "Value error"):
        assert english not in text
    assert "1212-1212" not in text
