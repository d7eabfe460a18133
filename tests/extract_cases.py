"""A person's case taken to a decision the way the product does it (review, approval,
release), for tests that need a decided case but not the documents."""

from __future__ import annotations

from pathlib import Path

from models.ledger import Ledger
from models.ledger.extracts import RequestState
from tasks.extracts.case import (
    approve_release,
    case_lease,
    record_release,
    release_clearance,
    start_review,
)
from tasks.extracts.requests import get_request


def released(ledger: Ledger, request_id: str, result_dir: Path, source: str = "live") -> None:
    """Review, approve and close the case as lämnad (no documents written)."""
    start_review(ledger, request_id, by="Kim Handläggare")
    approve_release(ledger, request_id, approver="Eva Beslutsfattare")
    with case_lease(ledger, request_id):
        clearance = release_clearance(ledger, get_request(ledger, request_id))
        record_release(ledger, request_id, clearance, state=RequestState.answered,
                       source=source, result_dir=result_dir)  # fmt: skip
