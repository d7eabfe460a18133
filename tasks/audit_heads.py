"""Publishing the audit chain's head outside the ledger, and checking the chain against it.

The keyed chain (:mod:`models.ledger.audit`) stops anyone without the key from rewriting
entries; it cannot, alone, show that the newest entries were deleted. So the head (seq +
hash + key id) is published where the ledger's writers cannot reach back:

- appended to an append-only file (``SAMSA_DECOM_AUDIT_HEADS``, default
  ``<home>/audit-heads.jsonl``, mode 0600; keep a copy off the machine), and
- sent as a notice to the ``revision`` tag (``SAMSA_DECOM_AUDIT_HEADS_TAG``) through the
  notice outbox, so it sits in someone's mailbox too.

:func:`publish_head` runs at the end of every reconciler run and after every irreversible
step; :func:`check_audit` is what ``samsa-decom audit verify`` and ``doctor`` run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from models import clock
from models.errors import CheckFailed
from models.ledger import Ledger
from models.ledger.audit import ChainVerdict, Head, check_head, key_id
from models.settings import get_settings


def heads_file() -> Path:
    return get_settings().resolved_audit_heads()


def published_heads(path: Path) -> list[Head]:
    """Every head in the file, oldest first (an absent file: none)."""
    if not path.exists():
        return []
    heads = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            heads.append(Head(int(raw["seq"]), str(raw["hash"]), str(raw["key_id"])))
        except (ValueError, KeyError, TypeError):
            raise CheckFailed(f"{path}:{n}: not a published audit head") from None
    return heads


_HEAD_NOTICE = "audit-head:"


def publish_head(ledger: Ledger, reason: str, *, path: Path | None = None) -> Head:
    """Append the chain's current head to the heads file and send it to the heads tag.

    Nothing new is published when the chain grew since the last head only by that head's
    own notice (so a run that changed nothing leaves the ledger as it was)."""
    from tasks.notify.outbox import send_notice

    verdict = ledger.verify_audit()
    if not verdict.ok:
        raise CheckFailed(f"audit chain broken at entry {verdict.first_bad_seq}: "
                          f"{verdict.reason}; no head published")
    path = path or heads_file()
    current = key_id(ledger.key())
    last = next((h for h in reversed(published_heads(path)) if h.key_id == current), None)
    if last is not None and last.seq <= verdict.head_seq:
        since = ledger.audit_entries(limit=verdict.head_seq - last.seq) if (
            verdict.head_seq > last.seq) else []
        if ledger.audit_hash_at(last.seq) == last.hash and all(
            e.subject.startswith("notice:" + _HEAD_NOTICE) for e in since
        ):
            return last
    head = Head(verdict.head_seq, verdict.head_hash, current)
    line = json.dumps({"seq": head.seq, "hash": head.hash, "key_id": head.key_id,
                       "at": clock.now().isoformat(timespec="seconds"), "reason": reason})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    send_notice(
        ledger, get_settings().audit_heads_tag, f"{_HEAD_NOTICE}{head.key_id}:{head.seq}",
        f"samsa-decom audit head {head.seq}",
        f"Audit chain head: entry {head.seq}, hash {head.hash}, key {head.key_id} "
        f"({reason}). Keep this message: 'samsa-decom audit verify' checks the ledger "
        "against it.",
        kind="audit-head",
    )
    return head


@dataclass(frozen=True)
class AuditCheck:
    """What :func:`check_audit` found: the chain verdict, the head it was compared with and
    every problem (empty when all is well)."""

    verdict: ChainVerdict
    head: Head | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_audit(ledger: Ledger, *, path: Path | None = None) -> AuditCheck:
    """Check the chain with the key, against the newest head published with that key, and
    that every approval row is backed by a genuine audit entry."""
    verdict = ledger.verify_audit()
    problems: list[str] = []
    if not verdict.ok:
        problems.append(f"audit chain broken at entry {verdict.first_bad_seq}: {verdict.reason}")
    current = key_id(ledger.key())
    heads = [h for h in published_heads(path or heads_file()) if h.key_id == current]
    head = heads[-1] if heads else None
    if head is not None and verdict.ok:
        hashes = {head.seq: ledger.audit_hash_at(head.seq) or ""}
        problem = check_head(verdict, hashes, head)
        if problem:
            problems.append(problem)
    problems.extend(ledger.unbacked_approvals())
    return AuditCheck(verdict, head, problems)
