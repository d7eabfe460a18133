"""Deadlines of the extracts area, for the notify engine's reminders (no personal data).

- a person's case: ``extract-request:<request id>``, due by its kind (one month for a
  registerutdrag, three with an extension; a few days for a TF request);
- a delivered bag without receipt: ``receipt:<org id>``, due 14 days after delivery.

:class:`ExtractsDeadlineProvider` is the provider the composition root (``flows/wiring.py``)
hands the notify engine; :func:`open_deadlines` is the plain function underneath.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from models.ledger import Ledger
from models.ledger.deliveries import OPEN_STATES
from models.ledger.extracts import PersonRequest
from tasks.notify.decide import Deadline

#: Reminders go to the project management (they chase the recipient or answer the request).
TAG = "projektledning"


def is_open(req: PersonRequest) -> bool:
    """The case is not decided yet (registrerad, under prövning or förlängd)."""
    return req.state in OPEN_STATES


def open_deadlines(ledger: Ledger, as_of: date) -> list[Deadline]:
    """Open requests and unreceipted deliveries, earliest due first. ``as_of`` is accepted for
    the provider protocol; every open deadline is listed, overdue ones included."""
    from tasks.extracts.delivery import awaiting_receipt, receipt_due

    out: list[Deadline] = []
    for r in ledger.deliveries.open_requests():
        out.append(
            Deadline(
                key=f"extract-request:{r.request_id}",
                title=f"{'Registerutdrag' if r.kind == 'gdpr-art15' else 'Allmän handling'}: "
                f"begäran {r.request_id[:8]}, Klart senast {r.deadline.isoformat()}",
                due=r.deadline,
                tag=TAG,
            )
        )
    for d in awaiting_receipt(ledger):
        due = receipt_due(d)
        if due is None:
            continue
        out.append(
            Deadline(
                key=f"receipt:{d.org_id}",
                title=f"Kvittens saknas för uttaget till {d.org_name or d.org_id}",
                due=due,
                tag=TAG,
            )
        )
    return sorted(out, key=lambda d: (d.due, d.key))


class ExtractsDeadlineProvider:
    """A DeadlineProvider over the ledger named by the settings (or a given URL)."""

    def __init__(self, ledger_url: str | None = None) -> None:
        self.ledger_url = ledger_url

    def deadlines(self, as_of: date) -> Iterable[Deadline]:
        from models.settings import get_settings

        ledger = Ledger.open(self.ledger_url or get_settings().resolved_ledger_url())
        try:
            return open_deadlines(ledger, as_of)
        finally:
            ledger.close()
