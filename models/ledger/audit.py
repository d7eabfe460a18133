"""The audit chain: canonical hashing and verification (pure functions)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def _iso(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite hands back naive datetimes; the ledger stores UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any],
) -> str:
    """The hash of one audit entry, chained on ``prev_hash``."""
    body = json.dumps(
        [seq, _iso(at), actor, action, subject, details],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainVerdict:
    """The result of checking the audit chain."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(rows: Iterable[Any]) -> ChainVerdict:
    """Check rows (ordered by ``seq``) that have the AuditEntry attributes."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for row in rows:
        count += 1
        if row.seq != expected_seq:
            return ChainVerdict(False, count, row.seq, f"sequence gap: expected {expected_seq}")
        if row.prev_hash != prev:
            return ChainVerdict(False, count, row.seq, "prev_hash does not match the entry before")
        recomputed = entry_hash(
            row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject, row.details
        )
        if recomputed != row.hash:
            return ChainVerdict(False, count, row.seq, "content was changed after it was written")
        prev = row.hash
        expected_seq += 1
    return ChainVerdict(True, count)
