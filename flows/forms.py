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

A form's problems are told in Swedish (:data:`SWEDISH_ERRORS`), like its titles: "Skriv ditt
namn, inte ett personnummer …", "Skriv högst 2000 tecken.".

Every free-text field is one of the two, and both carry :data:`NO_IDENTITY_PATTERN` in their
JSON schema, so the server refuses identity-shaped text before it stores a form's input.
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect.input import RunInput
from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from models.diarienummer import PATTERN as CASE_PATTERN
from models.diarienummer import case_number
from models.errors import InputError
from models.identity import IDENTITY_LIKE, person_name, scrub_identities

#: The form's problems in Swedish, by pydantic's error type (the flow and the CLI show them);
#: an error type not listed gets the last resort ``"ogiltigt värde"``.
SWEDISH_ERRORS: dict[str, str] = {
    "missing": "Fältet måste fyllas i.",
    "string_too_short": "Skriv minst {min_length} tecken.",
    "string_too_long": "Skriv högst {max_length} tecken.",
    "string_type": "Skriv text här.",
    "bool_parsing": "Välj ja eller nej.",
    "bool_type": "Välj ja eller nej.",
    "extra_forbidden": "Formuläret har inget sådant fält.",
    "person_name_empty": "Skriv ditt namn; fältet får inte vara tomt.",
    "person_name_identity": "Skriv ditt namn, inte ett personnummer eller annat identitetsnummer.",
}
OTHER_ERROR = "Ogiltigt värde."


def _name(value: str) -> str:
    try:
        return person_name(value)
    except InputError:  # pydantic reports a custom error as the field's problem
        kind = "person_name_empty" if not value.strip() else "person_name_identity"
        raise PydanticCustomError(kind, SWEDISH_ERRORS[kind]) from None


def in_swedish(exc: ValidationError, title: str) -> ValidationError:
    """The same problems (fields, types, inputs with identities masked), with Swedish
    messages."""
    details: list[InitErrorDetails] = []
    for e in exc.errors():
        ctx = dict(e.get("ctx") or {})
        template = SWEDISH_ERRORS.get(e["type"], OTHER_ERROR)
        try:
            message = template.format(**ctx)
        except (KeyError, IndexError):
            message = OTHER_ERROR
        details.append(
            InitErrorDetails(
                type=PydanticCustomError(e["type"], message.replace("{", "{{").replace("}", "}}")),
                loc=e["loc"],
                # the input is kept for the field's place, with any identity in it masked
                input=scrub_identities(e["input"])
                if isinstance(e.get("input"), str)
                else e.get("input"),
            )
        )
    return ValidationError.from_exception_data(title, details)


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

    @model_validator(mode="wrap")
    @classmethod
    def _problems_in_swedish(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Every problem of a form is told in Swedish, like its titles."""
        try:
            return handler(data)
        except ValidationError as exc:
            raise in_swedish(exc, cls.__name__) from None

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
