"""Test ledgers made the way the product makes them: through :func:`upgrade_ledger`."""

from __future__ import annotations

from models.ledger import Ledger, upgrade_ledger


def upgraded(url: str) -> Ledger:
    """The ledger at ``url``, created or migrated first (as ``samsa-decom upgrade-ledger``)."""
    upgrade_ledger(url)
    return Ledger.open(url)
