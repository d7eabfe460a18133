"""Ledger tables of the register extracts (registerutdrag).

- :class:`ExtractDelivery`: one organisation's bag — produced, delivered to its drop, receipt
  confirmed (by a person through a Prefect form, or by a receipt file naming the bag's
  checksum).
- :class:`PersonRequest`: one person's request for their extract (GDPR art. 15, or a request
  for public documents under TF 2 kap.), handled as a case (ärende) in the beslutslogg. The
  identity is kept **only here** (never in Prefect); flows refer to the request by its opaque id.
- :class:`ExtractWithholding`: what the case officer (handläggare) withholds in the secrecy
  review (OSL 25 kap. 1 §), per category or per item.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Enum, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.ledger.base import Base, utcnow


class DeliveryState(enum.StrEnum):
    """Where an organisation's bag stands; ``receipt_confirmed`` is final."""

    produced = "produced"
    delivered = "delivered"
    receipt_confirmed = "receipt_confirmed"


class RequestState(enum.StrEnum):
    """Where a person's request stands (the case's states, ``models/extract_case.py``):
    registrerad → under prövning → (förlängd) → lämnad / delvis avslag / avslag. The last
    three are final; ``answered`` is "lämnad" (the value predates the case states)."""

    registered = "registered"
    under_review = "under_review"
    extended = "extended"
    answered = "answered"
    partly_refused = "partly_refused"
    refused = "refused"


class ExtractDelivery(Base):
    """One bag for one organisation, from production to confirmed receipt."""

    __tablename__ = "extract_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(100), index=True)
    org_name: Mapped[str] = mapped_column(String(300), default="")
    bag_name: Mapped[str] = mapped_column(String(300))
    bag_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of tagmanifest-sha256.txt
    records: Mapped[int] = mapped_column(Integer, default=0)
    payload_oxum: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[DeliveryState] = mapped_column(
        Enum(DeliveryState, name="extract_delivery_state", native_enum=False, length=32),
        default=DeliveryState.produced,
    )
    produced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_to: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    receipt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    receipt_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    receipt_via: Mapped[str | None] = mapped_column(String(32), nullable=True)  # form | file
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PersonRequest(Base):
    """A person's request for a register extract: a case with a kind, a deadline per kind,
    perhaps an extension (art. 12.3, with the day the person was told) and a decision."""

    __tablename__ = "person_request"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4, opaque
    identity: Mapped[str] = mapped_column(String(12))  # canonical form; stays in the ledger
    identity_kind: Mapped[str] = mapped_column(String(32))
    received_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date, index=True)
    state: Mapped[RequestState] = mapped_column(
        Enum(RequestState, name="person_request_state", native_enum=False, length=32),
        default=RequestState.registered,
    )
    registered_by: Mapped[str] = mapped_column(String(200), default="")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answered_from: Mapped[str | None] = mapped_column(String(32), nullable=True)  # live|archive
    result_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: gdpr-art15 | tf-allman-handling | tf-avliden (``models.extract_case.RequestKind``)
    kind: Mapped[str] = mapped_column(String(32), default="gdpr-art15")
    extension_notice_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: the written decision on a refusal or partial refusal, with överklagandehänvisning
    decision_text: Mapped[str] = mapped_column(Text, default="")
    #: staff HSA-ids stay out of the citizen's version unless the case officer decides so
    show_staff_hsa: Mapped[bool] = mapped_column(Boolean, default=False)


class ExtractWithholding(Base):
    """One withholding of the secrecy review: a whole category (``item`` empty) or one item
    (``table:id``) of third-party data that the case officer decided not to release."""

    __tablename__ = "extract_withholding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    category: Mapped[str] = mapped_column(String(32))
    item: Mapped[str] = mapped_column(String(100), default="")
    ground: Mapped[str] = mapped_column(String(100), default="OSL 25 kap. 1 §")
    decided_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
