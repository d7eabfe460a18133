"""The audit chain: keyed (HMAC-SHA256) chaining and verification, as pure functions.

Each entry's ``hash`` is ``HMAC(key, prev_hash + canonical JSON of (key_id, seq, at, actor,
action, subject, details))``. The key is kept outside the ledger (``SAMSA_DECOM_AUDIT_KEY``);
the ledger stores only its :func:`key_id`, so a person who can write the database but does
not hold the key cannot rewrite an entry and recompute the chain. Deleting the newest
entries leaves a shorter chain that is still consistent: that is caught by comparing the
chain with the last head published outside the ledger (:func:`check_head`,
:mod:`tasks.audit_heads`).

Entries written before the chain was keyed (``key_id`` empty) do not verify: an operator
re-anchors them once with ``samsa-decom audit rekey`` (:func:`legacy_hash` checks them then).
"""

from __future__ import annotations

import hashlib
import hmac
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


def key_id(key: bytes) -> str:
    """The public name of an audit key (16 hex digits); reveals nothing of the key."""
    return hashlib.sha256(b"samsa-decom audit key id:" + key).hexdigest()[:16]


def _body(*fields: Any) -> str:
    return json.dumps(
        list(fields), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def entry_hash(
    key: bytes,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any],
) -> str:
    """The keyed hash of one audit entry, chained on ``prev_hash``."""
    body = _body(key_id(key), seq, _iso(at), actor, action, subject, details)
    return hmac.new(key, (prev_hash + body).encode("utf-8"), hashlib.sha256).hexdigest()


def legacy_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str,
    details: dict[str, Any],
) -> str:
    """The unkeyed hash entries had before the chain was keyed (only to re-anchor them)."""
    body = _body(seq, _iso(at), actor, action, subject, details)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def row_hash(key: bytes, row: Any) -> str:
    """:func:`entry_hash` of a row with the AuditEntry attributes."""
    return entry_hash(
        key, row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject, row.details
    )


def row_is_genuine(key: bytes, row: Any) -> bool:
    """True when ``row`` was written by a holder of ``key`` and not changed since."""
    return row.key_id == key_id(key) and hmac.compare_digest(row_hash(key, row), row.hash)


@dataclass(frozen=True)
class ChainVerdict:
    """The result of checking the audit chain."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS


def verify_chain(rows: Iterable[Any], key: bytes) -> ChainVerdict:
    """Check rows (ordered by ``seq``) that have the AuditEntry attributes, with ``key``."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    wanted_id = key_id(key)
    for row in rows:
        count += 1
        if row.seq != expected_seq:
            return ChainVerdict(False, count, row.seq, f"sequence gap: expected {expected_seq}")
        if row.prev_hash != prev:
            return ChainVerdict(False, count, row.seq, "prev_hash does not match the entry before")
        if not row.key_id:
            return ChainVerdict(
                False, count, row.seq,
                "entry is not keyed (written before the chain was keyed): re-anchor it with "
                "'samsa-decom audit rekey'",
            )
        if row.key_id != wanted_id:
            return ChainVerdict(
                False, count, row.seq,
                f"entry is keyed with key {row.key_id}, not the configured key {wanted_id}",
            )
        if not hmac.compare_digest(row_hash(key, row), row.hash):
            return ChainVerdict(False, count, row.seq, "content was changed after it was written")
        prev = row.hash
        expected_seq += 1
    return ChainVerdict(True, count, head_seq=expected_seq - 1, head_hash=prev)


@dataclass(frozen=True)
class Head:
    """The chain's newest entry as published outside the ledger."""

    seq: int
    hash: str
    key_id: str


def check_head(verdict: ChainVerdict, entry_hash_at: dict[int, str], head: Head) -> str:
    """Empty when an intact chain still holds the published ``head``; else what is wrong.

    ``entry_hash_at`` maps seq → hash of the ledger's entries (at least ``head.seq``)."""
    if verdict.head_seq < head.seq:
        return (
            f"chain ends at entry {verdict.head_seq} but entry {head.seq} was published: "
            f"{head.seq - verdict.head_seq} newest entries were removed"
        )
    if entry_hash_at.get(head.seq) != head.hash:
        return f"entry {head.seq} differs from the published head: the chain was rewritten"
    return ""
