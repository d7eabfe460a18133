"""Ledger table of the archive workstream: every archive package made, with its fixity; and
the archive area's door to it (``ledger.archive``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, Enum, Integer, Select, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.ledger.base import Base, utcnow

if TYPE_CHECKING:
    from models.ledger.repository import Ledger


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


@dataclass
class ArchiveRepository:
    """The archive packages the ledger knows (newest first)."""

    ledger: Ledger

    def _first(self, query: Select[Any]) -> ArchivePackage | None:
        with Session(self.ledger.engine) as s:
            row = s.execute(query.order_by(ArchivePackage.id.desc()).limit(1)).scalar_one_or_none()
            if row is not None:
                s.expunge(row)
            return row

    def by_path_or_objid(self, path: str, objid: str) -> ArchivePackage | None:
        """The newest record of a package, by its folder, else by its OBJID."""
        return self._first(select(ArchivePackage).where(ArchivePackage.path == path)) or (
            self._first(select(ArchivePackage).where(ArchivePackage.objid == objid))
        )

    def latest_verified(self, source_key: str) -> ArchivePackage | None:
        """The newest verified package of the source with ``source_key``."""
        return self._first(
            select(ArchivePackage)
            .where(ArchivePackage.source_key == source_key)
            .where(ArchivePackage.state == PackageState.verified)
        )

