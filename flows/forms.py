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
"""

from __future__ import annotations

from typing import Annotated

from prefect.input import RunInput
from pydantic import AfterValidator, Field

from models.errors import InputError
from models.identity import person_name, scrub_identities


def _name(value: str) -> str:
    try:
        return person_name(value)
    except InputError as exc:  # pydantic reports a ValueError as the field's problem
        raise ValueError(str(exc)) from None


#: A person's name as typed on a form: required, never an identity number.
PersonName = Annotated[str, AfterValidator(_name)]
#: Free text whose identity-shaped runs are masked (``19121212-****``).
MaskedComment = Annotated[str, AfterValidator(lambda v: scrub_identities(v.strip()))]


class DecisionForm(RunInput):
    """The base of every decision form: a person's name field (typed :data:`PersonName`,
    named by the subclass) and a masked ``comment``."""

    comment: MaskedComment = Field(
        default="",
        title="Kommentar",
        description="Frivillig motivering; sparas i liggaren. Skriv inga personnummer.",
        max_length=2000,
    )


class MilestoneDecision(DecisionForm):
    """A person's decision on one milestone: confirm a manual step, or approve an irreversible
    one. Refusing is always allowed and is recorded too."""

    approver: PersonName = Field(
        title="Ditt namn (godkännare)",
        description="Namnet som skrivs i liggaren som den som beslutade.",
        min_length=1,
        max_length=200,
    )
    approved: bool = Field(
        default=False,
        title="Klar / godkänd",
        description="Kryssa i om steget är utfört (manuellt steg) eller om du godkänner att "
        "det oåterkalleliga steget körs. Lämna tomt för att avslå eller svara 'inte klar ännu'.",
    )
