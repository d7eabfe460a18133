"""Where a milestone stands: the domain's word for a milestone's state (no database here).

The ledger stores it (``models/ledger/core.py`` maps it to a column), the reconciler decides
its transitions (``tasks/reconcile.py``), and every view shows it.
"""

from __future__ import annotations

import enum


class MilestoneState(enum.StrEnum):
    """Where a milestone stands. ``done`` and ``skipped`` are final."""

    pending = "pending"
    blocked = "blocked"
    ready = "ready"
    running = "running"
    awaiting_approval = "awaiting_approval"
    done = "done"
    failed = "failed"
    skipped = "skipped"

    @property
    def final(self) -> bool:
        return self in (MilestoneState.done, MilestoneState.skipped)
