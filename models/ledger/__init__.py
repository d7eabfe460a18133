"""The ledger: milestone states, approvals, the audit chain, and later workstreams' tables.

Later workstreams add a module here with their tables (sharing :class:`Base`) and an Alembic
migration in ``migrations/versions`` whose ``down_revision`` is ``"0001_foundation"``; the
ledger upgrades to *every* head, so independent branches of migrations coexist.
"""

from models.ledger import archive as _archive  # noqa: F401  (archive_package table)
from models.ledger import codes as _codes  # noqa: F401  (decision_code table)
from models.ledger import extracts as _extracts  # noqa: F401  (register tables)
from models.ledger import integrations as _integrations  # noqa: F401  (tables)
from models.ledger.audit import ChainVerdict, verify_chain
from models.ledger.base import Base, utcnow
from models.ledger.core import Approval, AuditEntry, MilestoneEvent, MilestoneRecord
from models.ledger.notify import MilestoneSnapshot, NoticeOutbox, NoticeStatus  # noqa: F401
from models.ledger.repository import Ledger, LedgerNotUpgraded, make_engine, upgrade_ledger
from models.ledger.rollout import RolloutStageSnapshot  # noqa: F401 (production)

__all__ = [
    "Approval",
    "AuditEntry",
    "Base",
    "ChainVerdict",
    "Ledger",
    "LedgerNotUpgraded",
    "MilestoneEvent",
    "MilestoneRecord",
    "make_engine",
    "upgrade_ledger",
    "utcnow",
    "verify_chain",
]
