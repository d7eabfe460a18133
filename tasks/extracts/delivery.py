"""Delivering each organisation's bag to its drop, and receipts coming back.

Drops are folders, one per organisation, named in ``deploy/plan/drops.yaml`` (setting
``SAMSA_DECOM_DROPS_PATH``)::

    default: drops/{org_id}            # relative paths are under SAMSA_DECOM_HOME
    organisations:
      "3": /mnt/goteborg/samsa-inkorg  # one organisation's own folder

A delivery is atomic: the bag is copied to a hidden temporary name in the drop and renamed to
its real name only when the copy is complete, so a recipient never sees half a bag.

A **receipt** is confirmed either by a person (the ``confirm-extract-receipt`` form) or by a
file the recipient drops beside the bag: ``<bag name>.receipt``, plain text or JSON, that
contains the bag's checksum — the SHA-256 of its ``tagmanifest-sha256.txt``, printed in the
ledger and the delivery artifact. JSON may say who received it::

    {"sha256": "<64 hex>", "received_by": "Anna Andersson, Ale kommun"}
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from models import clock
from models.errors import InputError, Problem, ValidationFailed
from models.ledger import Ledger, utcnow
from models.ledger.extracts import DeliveryState, ExtractDelivery
from tasks.extracts.bag import bag_checksum
from tasks.extracts.orgs import OrgBag, OrgInfo
from tasks.private_files import make_private

HEX64 = re.compile(r"\b[0-9a-fA-F]{64}\b")
#: A delivery without receipt is reminded this long after it was delivered.
RECEIPT_GRACE = timedelta(days=14)
ACTOR = "samsa-decom extracts"


@dataclass(frozen=True)
class Drops:
    """Where each organisation's bag goes."""

    default: str
    organisations: dict[str, str] = field(default_factory=dict)
    base: Path = Path(".")

    def folder_for(self, org: OrgInfo) -> Path:
        template = self.organisations.get(org.id, self.default)
        path = Path(template.format(org_id=org.id, hsa_id=org.hsa_id or org.id))
        return path if path.is_absolute() else self.base / path


def load_drops(path: Path, base: Path) -> Drops:
    """Read the drops file; every problem is listed with its place."""
    if not path.exists():
        return Drops(default="drops/{org_id}", base=base)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ValidationFailed("drops", [Problem(where, f"not valid YAML: {exc}")]) from None
    problems = []
    if not isinstance(data, dict):
        raise ValidationFailed("drops", [Problem(str(path), "must be a mapping")])
    default = data.get("default", "drops/{org_id}")
    if not isinstance(default, str) or not default:
        problems.append(Problem(f"{path}: default", "must be a folder path (text)"))
    orgs = data.get("organisations") or {}
    if not isinstance(orgs, dict):
        problems.append(Problem(f"{path}: organisations", "must map organisation id to folder"))
        orgs = {}
    for key, value in orgs.items():
        if not isinstance(value, str) or not value:
            problems.append(Problem(f"{path}: organisations.{key}", "must be a folder path"))
    unknown = set(data) - {"default", "organisations"}
    for key in sorted(unknown):
        problems.append(Problem(f"{path}: {key}", "unknown key (expected default, organisations)"))
    if problems:
        raise ValidationFailed("drops", problems)
    return Drops(str(default), {str(k): str(v) for k, v in orgs.items()}, base)


def deliver_bag(bag: Path, drop: Path) -> Path:
    """Copy ``bag`` into ``drop`` atomically; return the delivered path.

    An identical bag already there is left alone; a different one is replaced in one rename.
    """
    drop.mkdir(parents=True, exist_ok=True)
    target = drop / bag.name
    checksum = bag_checksum(bag)
    if target.exists() and (target / "tagmanifest-sha256.txt").exists():
        if bag_checksum(target) == checksum:
            return target
    partial = drop / f".{bag.name}.partial-{uuid.uuid4().hex[:8]}"
    shutil.copytree(bag, partial)
    make_private(partial)  # however the bag was made, its copy in the drop is private
    if bag_checksum(partial) != checksum:  # pragma: no cover - a disk that lies
        shutil.rmtree(partial, ignore_errors=True)
        raise InputError(f"copy of {bag.name} to {drop} differs from the bag")
    if target.exists():
        old = drop / f".{bag.name}.replaced-{uuid.uuid4().hex[:8]}"
        os.replace(target, old)
        os.replace(partial, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(partial, target)
    return target


# -- ledger -------------------------------------------------------------------------------------
def record_produced(ledger: Ledger, bags: list[OrgBag], flow_run_id: str | None = None) -> None:
    """Record each bag as produced (one ledger row per organisation and checksum)."""
    with ledger.unit_of_work() as s:
        for ob in bags:
            existing = ledger.deliveries.of_bag(s, ob.org.id, ob.bag.sha256)
            if existing is not None:
                existing.bag_path = str(ob.bag.path)
                continue
            s.add(
                ExtractDelivery(
                    org_id=ob.org.id,
                    org_name=ob.org.name,
                    bag_name=ob.bag.path.name,
                    bag_path=str(ob.bag.path),
                    sha256=ob.bag.sha256,
                    records=ob.records,
                    payload_oxum=ob.bag.payload_oxum,
                    state=DeliveryState.produced,
                    flow_run_id=flow_run_id,
                )
            )
            ledger.append_audit(
                s,
                actor=ACTOR,
                action="extract.produced",
                subject=f"extract:{ob.org.id}",
                details={
                    "sha256": ob.bag.sha256,
                    "records": ob.records,
                    "flow_run_id": flow_run_id,
                },
            )


def current_deliveries(ledger: Ledger) -> dict[str, ExtractDelivery]:
    """The newest delivery row of each organisation."""
    return ledger.deliveries.current()


def deliver_all(ledger: Ledger, drops: Drops, orgs: dict[str, OrgInfo]) -> list[ExtractDelivery]:
    """Deliver every organisation's newest produced bag to its drop; record it in the ledger."""
    delivered = []
    for oid, row in sorted(current_deliveries(ledger).items()):
        if row.state is not DeliveryState.produced or oid not in orgs:
            continue
        target = deliver_bag(Path(row.bag_path), drops.folder_for(orgs[oid]))
        with ledger.unit_of_work() as s:
            rec = s.get(ExtractDelivery, row.id)
            assert rec is not None
            rec.state = DeliveryState.delivered
            rec.delivered_to = str(target)
            rec.delivered_at = utcnow()
            ledger.append_audit(
                s,
                actor=ACTOR,
                action="extract.delivered",
                subject=f"extract:{oid}",
                details={"sha256": rec.sha256, "to": str(target)},
            )
            delivered.append(rec)
    return delivered


def confirm_receipt(
    ledger: Ledger, sha256: str, *, by: str, via: str, comment: str = ""
) -> ExtractDelivery:
    """Mark the delivery whose bag has checksum ``sha256`` as received (audited)."""
    sha256 = sha256.strip().lower()
    if not HEX64.fullmatch(sha256):
        raise InputError("a receipt must name the bag's SHA-256: 64 hexadecimal characters")
    if not by.strip():
        raise InputError("a receipt must say who confirmed it")
    with ledger.unit_of_work() as s:
        rec = ledger.deliveries.newest_by_checksum(s, sha256)
        if rec is None:
            raise InputError(f"no delivered bag has checksum {sha256[:12]}…")
        if rec.state is DeliveryState.receipt_confirmed:
            return rec
        if rec.state is not DeliveryState.delivered:
            raise InputError(f"bag {rec.bag_name} ({sha256[:12]}…) has not been delivered yet")
        rec.state = DeliveryState.receipt_confirmed
        rec.receipt_at = utcnow()
        rec.receipt_by = by.strip()[:200]
        rec.receipt_via = via
        ledger.append_audit(
            s,
            actor=rec.receipt_by,
            action="extract.receipt_confirmed",
            subject=f"extract:{rec.org_id}",
            details={"sha256": sha256, "via": via, "comment": comment},
        )
        return rec


@dataclass(frozen=True)
class ReceiptScan:
    """What a look for receipt files found."""

    confirmed: list[str]  # org ids
    problems: list[Problem]


def parse_receipt(path: Path) -> tuple[list[str], str]:
    """The checksums a receipt file names and who it says received the bag."""
    text = path.read_text(encoding="utf-8", errors="replace")
    by = "kvittensfil"
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("received_by", "mottagen_av", "by"):
            if isinstance(data.get(key), str) and data[key].strip():
                by = f"{data[key].strip()} (kvittensfil)"
                break
    return [h.lower() for h in HEX64.findall(text)], by


def scan_receipts(ledger: Ledger) -> ReceiptScan:
    """Confirm every delivered bag whose drop holds a receipt file naming its checksum."""
    confirmed: list[str] = []
    problems: list[Problem] = []
    for oid, row in sorted(current_deliveries(ledger).items()):
        if row.state is not DeliveryState.delivered or not row.delivered_to:
            continue
        receipt = Path(row.delivered_to).with_name(row.bag_name + ".receipt")
        if not receipt.exists():
            continue
        hashes, by = parse_receipt(receipt)
        if row.sha256 in hashes:
            confirm_receipt(ledger, row.sha256, by=by, via="file")
            confirmed.append(oid)
        else:
            problems.append(
                Problem(
                    str(receipt),
                    f"names no checksum of the delivered bag (expected {row.sha256[:12]}…); "
                    "the recipient may have received an older version",
                )
            )
    return ReceiptScan(confirmed, problems)


def awaiting_receipt(ledger: Ledger) -> list[ExtractDelivery]:
    """Newest deliveries still without a confirmed receipt (produced or delivered)."""
    return [
        r
        for _, r in sorted(current_deliveries(ledger).items())
        if r.state is not DeliveryState.receipt_confirmed
    ]


def receipt_due(row: ExtractDelivery) -> date | None:
    """When a delivered bag's receipt is due (for reminders)."""
    if row.delivered_at is None:
        return None
    return clock.local_day(row.delivered_at) + RECEIPT_GRACE
