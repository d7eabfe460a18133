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

from models.ledger.extracts import (
    ExtractDelivery,
    ExtractWithholding,
    PersonRequest,
    RequestState,
)

#: A case still open: not yet decided.
OPEN_STATES = (RequestState.registered, RequestState.under_review, RequestState.extended)
#: A case decided: released (lämnad, delvis avslag) or refused (avslag).
DECIDED_STATES = (RequestState.answered, RequestState.partly_refused, RequestState.refused)

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
        """Cases not decided yet (registrerad, under prövning, förlängd), earliest deadline
        first."""
        with Session(self.ledger.engine) as s:
            q = (
                select(PersonRequest)
                .where(PersonRequest.state.in_(OPEN_STATES))
                .order_by(PersonRequest.deadline)
            )
            return list(s.execute(q).scalars().all())

    def answered_with_identity(self, session: Session) -> list[PersonRequest]:
        """Decided cases (lämnad, delvis avslag, avslag) whose identity is still in the
        ledger."""
        q = select(PersonRequest).where(
            PersonRequest.state.in_(DECIDED_STATES), PersonRequest.identity != ""
        )
        return list(session.execute(q).scalars().all())

    def answered_from_archive(self) -> int:
        """How many requests have been answered from the archive package."""
        with Session(self.ledger.engine) as s:
            q = select(func.count()).where(PersonRequest.answered_from == "archive")
            return int(s.execute(q).scalar_one())

    def withholdings(
        self, request_id: str, session: Session | None = None
    ) -> list[ExtractWithholding]:
        """What the secrecy review of ``request_id`` withholds, in the order decided."""
        q = (
            select(ExtractWithholding)
            .where(ExtractWithholding.request_id == request_id)
            .order_by(ExtractWithholding.id)
        )
        if session is not None:
            return list(session.execute(q).scalars().all())
        with Session(self.ledger.engine) as s:
            return list(s.execute(q).scalars().all())

    def all_requests(self) -> list[PersonRequest]:
        """Every case, newest received first (for ``samsa-decom extract status``)."""
        with Session(self.ledger.engine) as s:
            q = select(PersonRequest).order_by(PersonRequest.received_on.desc())
            return list(s.execute(q).scalars().all())
