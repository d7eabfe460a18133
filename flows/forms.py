"""The forms a person fills in when a flow run waits for a human decision.

Prefect renders a paused run's form from the model's JSON schema (the "Resume" button in the
UI), so field titles and descriptions here are what a project manager reads. Open-source
Prefect records nobody's identity, so the approver types their name: that name is what the
ledger keeps as the approver.
"""

from __future__ import annotations

from prefect.input import RunInput
from pydantic import Field, field_validator

from models.identity import IDENTITY_LIKE, scrub_identities


def mask_personnummer(text: str) -> str:
    """``text`` with anything shaped like a personnummer masked: ``19121212-1212`` →
    ``19121212-****``. Comments end up in the ledger and in artifacts, so nobody can paste
    one there by mistake."""
    return scrub_identities(text)


class MilestoneDecision(RunInput):
    """A person's decision on one milestone: confirm a manual step, or approve an irreversible
    one. Refusing is always allowed and is recorded too."""

    approver: str = Field(
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
    comment: str = Field(
        default="",
        title="Kommentar",
        description="Frivillig motivering; sparas i liggaren. Skriv inga personnummer.",
        max_length=2000,
    )

    @field_validator("approver")
    @classmethod
    def _approver_is_a_name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("godkännarens namn saknas (approver name is required)")
        if IDENTITY_LIKE.search(value):
            raise ValueError("skriv ditt namn, inte ett personnummer")
        return value

    @field_validator("comment")
    @classmethod
    def _comment_without_personnummer(cls, value: str) -> str:
        return mask_personnummer(value.strip())
