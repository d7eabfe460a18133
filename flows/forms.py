"""The forms a person fills in when a flow run waits for a human decision.

Prefect renders a paused run's form from the model's JSON schema (the "Resume" button in the
UI), so field titles and descriptions here are what a project manager reads. Open-source
Prefect records nobody's identity, so the person types their name: that name is what the
ledger keeps as the approver.

Every form is a :class:`DecisionForm` and follows the same three rules, whatever it decides
(a milestone, an integration's step, an extract's receipt):

1. the person's name is required and is a name: a field typed :data:`PersonName` refuses
   anything shaped like an identity number (:func:`models.identity.person_name`);
2. the free-text ``comment`` (:data:`MaskedComment`) has every identity-shaped run masked
   before anyone reads it (:func:`models.identity.scrub_identities`);
3. refusing is always an answer, and is recorded too.

Every free-text field is one of the two, and both carry :data:`NO_IDENTITY_PATTERN` in their
JSON schema, so the server refuses identity-shaped text before it stores a form's input.
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect.input import RunInput
from pydantic import AfterValidator, Field

from models.diarienummer import PATTERN as CASE_PATTERN
from models.diarienummer import case_number
from models.errors import InputError
from models.identity import IDENTITY_LIKE, person_name, scrub_identities


def _name(value: str) -> str:
    try:
        return person_name(value)
    except InputError as exc:  # pydantic reports a ValueError as the field's problem
        raise ValueError(str(exc)) from None


def _masked(value: str) -> str:
    return scrub_identities(value.strip())


_NAME_RULE = AfterValidator(_name)
_MASK_RULE = AfterValidator(_masked)

#: The JSON-schema ``pattern`` of every free-text field: no identity-shaped run anywhere
#: (:data:`models.identity.IDENTITY_LIKE`). Prefect's server checks a resume's input against
#: the form's schema *before* it stores the input (table ``flow_run_input``), so a comment or
#: name holding a personnummer is refused there, the UI asks to remove it, and nothing is kept;
#: the validators above run only later, in the flow.
NO_IDENTITY_PATTERN = rf"^(?![\s\S]*{IDENTITY_LIKE.pattern})"
_NO_IDENTITY = Field(json_schema_extra={"pattern": NO_IDENTITY_PATTERN})

#: A person's name as typed on a form: required, never an identity number.
PersonName = Annotated[str, _NO_IDENTITY, _NAME_RULE]
#: Free text with no identity in it: refused by the server, masked (``19121212-****``) if it
#: arrives another way.
MaskedComment = Annotated[str, _NO_IDENTITY, _MASK_RULE]

#: The one-time code sent to the approver's own channel (``ABCD-EFGH``; empty when the
#: decision needs none). The flow compares its HMAC and then deletes the form's stored answer
#: from Prefect, so the code is not kept there in clear.
CODE_PATTERN = r"^\s*([A-Za-z2-9]{4}-?[A-Za-z2-9]{4})?\s*$"
_CODE_RULE = AfterValidator(lambda v: v.strip())
OneTimeCode = Annotated[str, Field(json_schema_extra={"pattern": CODE_PATTERN}), _CODE_RULE]


def _case(value: str) -> str:
    if not value.strip():
        return ""
    try:
        return case_number(value, what="diarienummer")
    except InputError as exc:
        raise ValueError(str(exc)) from None


_CASE_RULE = AfterValidator(_case)
#: A diarienummer (``RS 2026-01234``; :mod:`models.diarienummer`), or empty.
CaseNumber = Annotated[
    str, Field(json_schema_extra={"pattern": rf"^\s*$|{CASE_PATTERN}"}), _CASE_RULE
]
_TYPED_TEXT = (_NAME_RULE, _MASK_RULE, _CODE_RULE, _CASE_RULE)


class DecisionForm(RunInput):
    """The base of every decision form. A subclass declares its fields in the order the UI
    shows them; it must name the person in a :data:`PersonName` field, have a ``comment``
    typed :data:`MaskedComment`, and no other free text, or it fails when it is defined (at
    import)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        fields = cls.model_fields
        named = [n for n, f in fields.items() if _NAME_RULE in f.metadata]
        comment = fields.get("comment")
        if not named or comment is None or _MASK_RULE not in comment.metadata:
            raise TypeError(
                f"{cls.__name__}: a decision form needs a PersonName field and a "
                "`comment: MaskedComment`"
            )
        free = [n for n, f in fields.items() if f.annotation is str
                and not any(rule in f.metadata for rule in _TYPED_TEXT)]  # fmt: skip
        if free:
            raise TypeError(
                f"{cls.__name__}: free text must be a PersonName, a MaskedComment, a "
                "OneTimeCode or a CaseNumber: "
                + ", ".join(free)
            )


class MilestoneDecision(DecisionForm):
    """A person's decision on one milestone: confirm a manual step, or approve an irreversible
    one. Refusing is always allowed and is recorded too."""

    approver: PersonName = Field(
        title="Ditt namn (godkännare)",
        description="Namnet som skrivs i beslutsloggen som den som beslutade.",
        min_length=1,
        max_length=200,
    )
    approved: bool = Field(
        default=False,
        title="Klar / godkänd",
        description="Kryssa i om steget är utfört (manuellt steg) eller om du godkänner att "
        "det oåterkalleliga steget körs. Lämna tomt för att avslå eller svara 'inte klar ännu'.",
    )
    code: OneTimeCode = Field(
        default="",
        title="Engångskod",
        description="Koden som skickades till din egen kanal (e-post/chatt) när beslutet "
        "började vänta, t.ex. ABCD-EFGH. Krävs när planen anger godkännarens kanal (alltid "
        "för oåterkalleliga steg). Gäller en gång.",
        max_length=20,
    )
    diarienummer: CaseNumber = Field(
        default="",
        title="Diarienummer för gallringsbeslutet",
        description="Krävs för att godkänna en radering, t.ex. RS 2026-01234.",
        max_length=40,
    )
    comment: MaskedComment = Field(
        default="",
        title="Kommentar",
        description="Frivillig motivering; sparas i beslutsloggen. Skriv inga personnummer.",
        max_length=2000,
    )
