"""The SAMSA source schema: the tables of SAMSA IT-tjänst's database, as used by the synthetic
rehearsal database (``samsa-decom demo-data``) and as the archive expects to find them.

This schema has its OWN declarative base and MetaData (it is not the ledger). Conventions other
areas rely on:

- ``organisation`` holds the 49 municipalities (by sub-region), VGR's units (hospitals, health
  centres, each with an HSA-id) and private providers.
- ``person`` holds the patients/clients: ``identity`` is 12 characters (personnummer,
  samordningsnummer or VGR reserve number), ``identity_kind`` says which, and
  ``protected_identity`` marks skyddad identitet.
- Every record table an organisation is responsible for (personuppgiftsansvarig) has
  ``org_id`` (FK ``organisation``) and, when it concerns a person, a direct ``person_id``.
- ``access_log`` records who read which person's records, and when.
- ``dataset_info`` marks a synthetic database as synthetic (with its seed and scale).

Timestamps are stored timezone-aware and are UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SOURCE_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class SourceBase(DeclarativeBase):
    """Base of SAMSA's source tables (separate MetaData from the ledger)."""

    metadata = MetaData(naming_convention=SOURCE_NAMING)


UTC_TS = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
#: MariaDB/MySQL TEXT and BLOB stop at 64 KB; SAMSA's free text and attachments are larger
LONG_TEXT = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
LONG_BINARY = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


class DatasetInfo(SourceBase):
    """What this database is: a synthetic rehearsal copy (never real people) or real SAMSA."""

    __tablename__ = "dataset_info"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    synthetic: Mapped[bool] = mapped_column(Boolean)
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    scale: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    generated_at: Mapped[datetime] = mapped_column(UTC_TS)
    generator: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(LONG_TEXT, nullable=True)


class Organisation(SourceBase):
    """A municipality, a VGR unit (hospital ward, health centre) or a private provider."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # municipality | region_unit | private_provider
    name: Mapped[str] = mapped_column(String(200))
    hsa_id: Mapped[str] = mapped_column(String(40), unique=True)
    sub_region: Mapped[str | None] = mapped_column(String(40), nullable=True)
    unit_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), nullable=True)


class Person(SourceBase):
    """A patient / client. ``identity`` is sensitive: never log it unmasked."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    identity: Mapped[str] = mapped_column(String(12), unique=True)
    # personnummer | samordningsnummer | reservnummer
    identity_kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    street_address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    postal_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    home_municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), nullable=True
    )
    protected_identity: Mapped[bool] = mapped_column(Boolean)
    deceased_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class UserAccount(SourceBase):
    """A SAMSA user (logs in with SITHS; identified by HSA-id)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hsa_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTC_TS)


class AccessRight(SourceBase):
    """An access right: user + organisation link + role (read, report analysis, closing cases,
    log review)."""

    __tablename__ = "access_right"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    role: Mapped[str] = mapped_column(String(30))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)


class CareEpisode(SourceBase):
    """One inpatient stay under Lag (2017:612): admission → ready for discharge → planning →
    discharge. ``org_id`` is the responsible inpatient unit."""

    __tablename__ = "care_episode"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    health_centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), nullable=True
    )
    admitted_at: Mapped[datetime] = mapped_column(UTC_TS)
    admission_notice_at: Mapped[datetime | None] = mapped_column(UTC_TS, nullable=True)
    ready_for_discharge_at: Mapped[datetime | None] = mapped_column(UTC_TS, nullable=True)
    planning_at: Mapped[datetime | None] = mapped_column(UTC_TS, nullable=True)
    discharged_at: Mapped[datetime | None] = mapped_column(UTC_TS, nullable=True)
    status: Mapped[str] = mapped_column(String(30))
    interrupted: Mapped[bool] = mapped_column(Boolean)
    priority: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(LONG_TEXT, nullable=True)


class Message(SourceBase):
    """A message of the discharge process (admission notice, care plan, discharge notice, …).
    ``org_id`` is the sending organisation (responsible for the record)."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("care_episode.id"), nullable=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    receiver_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime] = mapped_column(UTC_TS)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(LONG_TEXT, nullable=True)
    read: Mapped[bool] = mapped_column(Boolean)


class SipPlan(SourceBase):
    """A coordinated individual plan (SIP, samordnad individuell plan)."""

    __tablename__ = "sip_plan"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("care_episode.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTC_TS)
    title: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str | None] = mapped_column(LONG_TEXT, nullable=True)
    status: Mapped[str] = mapped_column(String(20))


class SipParticipant(SourceBase):
    """Someone taking part in a SIP meeting (a professional, the person, a relative)."""

    __tablename__ = "sip_participant"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sip_plan.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    role: Mapped[str] = mapped_column(String(40))
    participant_name: Mapped[str] = mapped_column(String(200))


class SipAction(SourceBase):
    """An action agreed in a SIP: who does what by when."""

    __tablename__ = "sip_action"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sip_plan.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    description: Mapped[str] = mapped_column(LONG_TEXT)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    done: Mapped[bool] = mapped_column(Boolean)
    estimated_hours: Mapped[Decimal | None] = mapped_column(Numeric(8, 2), nullable=True)


class Consent(SourceBase):
    """A consent (samtycke), e.g. to share information between organisations."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(40))
    given: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTC_TS)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTC_TS, nullable=True)
    note: Mapped[str | None] = mapped_column(LONG_TEXT, nullable=True)


class Attachment(SourceBase):
    """A file attached to a message (stored in the database as a BLOB)."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), nullable=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    filename: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LONG_BINARY, nullable=True)


class AccessLog(SourceBase):
    """Who read which person's records, when (PDL: the patient may ask)."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    at: Mapped[datetime] = mapped_column(UTC_TS)
    action: Mapped[str] = mapped_column(String(30))


class MonthlyStatistic(SourceBase):
    """Monthly process statistics ("Utdata SAMSA") per organisation and measure."""

    __tablename__ = "monthly_statistic"
    __table_args__ = (UniqueConstraint("month", "org_id", "measure", name="uq_monthly_statistic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    measure: Mapped[str] = mapped_column(String(60))
    count: Mapped[int] = mapped_column(Integer)
    average_days: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), nullable=True)


#: Tables in dependency order (parents first): the order the generator inserts them.
TABLE_ORDER: tuple[str, ...] = (
    "dataset_info",
    "organisation",
    "person",
    "user_account",
    "access_right",
    "care_episode",
    "message",
    "sip_plan",
    "sip_participant",
    "sip_action",
    "consent",
    "attachment",
    "access_log",
    "monthly_statistic",
)

#: Tables whose rows concern one person (all have ``person_id`` and ``org_id``).
PERSON_TABLES: tuple[str, ...] = (
    "care_episode",
    "message",
    "sip_plan",
    "sip_participant",
    "sip_action",
    "consent",
    "attachment",
    "access_log",
)
