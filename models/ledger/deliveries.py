"""The extracts area's door to the ledger: organisations' deliveries and persons' requests.

``tasks/extracts`` and ``flows/extracts.py`` produce, deliver and answer; every query they
need of the ``extract_delivery`` and ``person_request`` tables is here (``ledger.deliveries``).
Lookups that are part of a write take the unit of work's ``session``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.ledger.extracts import ExtractDelivery, PersonRequest, RequestState

if TYPE_CHECKING:
    from models.ledger.repository import Ledger


@dataclass
class DeliveryRepository:
    """Queries of register-extract deliveries and person requests."""

    ledger: Ledger

    def of_bag(self, session: Session, org_id: str, sha256: str) -> ExtractDelivery | None:
        """The delivery row of one organisation's bag with checksum ``sha256``."""
        q = select(ExtractDelivery).where(
            ExtractDelivery.org_id == org_id, ExtractDelivery.sha256 == sha256
        )
        return session.execute(q).scalar_one_or_none()

    def newest_by_checksum(self, session: Session, sha256: str) -> ExtractDelivery | None:
        q = (
            select(ExtractDelivery)
            .where(ExtractDelivery.sha256 == sha256)
            .order_by(ExtractDelivery.id.desc())
            .limit(1)
        )
        return session.execute(q).scalar_one_or_none()

    def current(self) -> dict[str, ExtractDelivery]:
        """The newest delivery row of each organisation."""
        with Session(self.ledger.engine) as s:
            rows = s.execute(select(ExtractDelivery).order_by(ExtractDelivery.id)).scalars().all()
        return {r.org_id: r for r in rows}

    def open_requests(self) -> list[PersonRequest]:
        """Requests registered and not answered yet, earliest deadline first."""
        with Session(self.ledger.engine) as s:
            q = (
                select(PersonRequest)
                .where(PersonRequest.state == RequestState.registered)
                .order_by(PersonRequest.deadline)
            )
            return list(s.execute(q).scalars().all())

    def answered_with_identity(self, session: Session) -> list[PersonRequest]:
        """Answered requests whose identity is still in the ledger."""
        q = select(PersonRequest).where(
            PersonRequest.state == RequestState.answered, PersonRequest.identity != ""
        )
        return list(session.execute(q).scalars().all())

    def answered_from_archive(self) -> int:
        """How many requests have been answered from the archive package."""
        with Session(self.ledger.engine) as s:
            q = select(func.count()).where(PersonRequest.answered_from == "archive")
            return int(s.execute(q).scalar_one())
