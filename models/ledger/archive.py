"""Ledger table of the archive workstream: every archive package made, with its fixity."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, Enum, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.ledger.base import Base, utcnow


class PackageState(str, enum.Enum):  # noqa: UP042  (same style as MilestoneState)
    """``verified``: counts and digests of source and archive matched. ``unverified``: the
    package exists but a check failed (see ``detail``); it must not count as the archive."""

    verified = "verified"
    unverified = "unverified"


class ArchivePackage(Base):
    """One E-ARK SIP holding SAMSA's database as SIARD 2.2."""

    __tablename__ = "archive_package"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    objid: Mapped[str] = mapped_column(String(100), index=True)
    path: Mapped[str] = mapped_column(Text)
    source_key: Mapped[str] = mapped_column(String(32))
    mets_sha256: Mapped[str] = mapped_column(String(64))
    siard_sha256: Mapped[str] = mapped_column(String(64))
    siard_bytes: Mapped[int] = mapped_column(BigInteger)
    total_rows: Mapped[int] = mapped_column(BigInteger)
    tables: Mapped[dict[str, Any]] = mapped_column(JSON)  # name -> {rows, digest, retention}
    state: Mapped[PackageState] = mapped_column(
        Enum(PackageState, name="archive_package_state", native_enum=False, length=20)
    )
    detail: Mapped[str] = mapped_column(Text, default="")
    archival_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
