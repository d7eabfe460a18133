"""The extracts' use cases, shared by the CLI and the flows (plain functions, no Prefect).

- :func:`produce_org_bags`: every organisation's bag from one pass, recorded in the ledger;
- :func:`deliver_and_collect`: deliver produced bags to their drops, pick up receipt files;
- :func:`answer_request`: answer a registered person's request from the live database or the
  archive package, and record that it was answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from models import clock
from models.errors import InputError, Problem
from models.identity import parse_identity
from models.ledger import Ledger
from models.settings import get_settings
from tasks.extracts.delivery import (
    Drops,
    ReceiptScan,
    deliver_all,
    load_drops,
    record_produced,
    scan_receipts,
)
from tasks.extracts.orgs import OrgBag, read_organisations, write_org_bags
from tasks.extracts.person import LivePersonLookup, PersonLookup, build_person_extract
from tasks.extracts.render import write_documents
from tasks.extracts.requests import get_request, mark_answered
from tasks.extracts.source import LiveSource, open_source


def produce_org_bags(
    ledger: Ledger,
    out_dir: Path,
    *,
    source_url: str | None = None,
    archive: Path | None = None,
    org: str | None = None,
    flow_run_id: str | None = None,
    bagging_date: date | None = None,
) -> list[OrgBag]:
    """Write every organisation's bag (or one) in one pass and record them as produced."""
    source = open_source(source_url, archive)
    try:
        bags = write_org_bags(source, out_dir, only_org=org, bagging_date=bagging_date)
    finally:
        source.close()
    record_produced(ledger, bags, flow_run_id)
    return bags


def default_drops() -> Drops:
    s = get_settings()
    return load_drops(s.drops_path, s.home)


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # org ids
    receipts: list[str] = field(default_factory=list)  # org ids confirmed now
    problems: list[Problem] = field(default_factory=list)


def deliver_and_collect(
    ledger: Ledger, drops: Drops, *, source_url: str | None = None, archive: Path | None = None
) -> DeliveryReport:
    """Deliver every produced bag to its drop, then confirm receipts found in the drops."""
    source = open_source(source_url, archive)
    try:
        specs = {s.name: s for s in source.tables()}
        orgs = read_organisations(source, specs["organisation"])
    finally:
        source.close()
    delivered = deliver_all(ledger, drops, orgs)
    scan: ReceiptScan = scan_receipts(ledger)
    return DeliveryReport([d.org_id for d in delivered], scan.confirmed, scan.problems)


@dataclass(frozen=True)
class Answer:
    """What answering a request produced (no personal data: safe for logs and artifacts)."""

    request_id: str
    source: str
    found: bool
    counts: dict[str, int]
    files: dict[str, Path]


def person_lookup(
    source_url: str | None = None, archive: Path | None = None
) -> tuple[PersonLookup, Any]:
    """The lookup for a person's extract and a closer; settings decide when neither is given.

    ``auto`` (default): the live database when it answers, else the newest archive package.
    """
    if source_url or archive:
        if archive is not None:
            from tasks.extracts.person_index.archive_lookup import ArchivePersonLookup

            lk = ArchivePersonLookup(Path(archive))
            return lk, lk.close
        assert source_url is not None
        live = LiveSource(source_url)
        return LivePersonLookup(live), live.close
    s = get_settings()
    mode = s.extract_person_source
    if mode in ("auto", "live"):
        try:
            live = LiveSource(s.resolved_source_url())
            return LivePersonLookup(live), live.close
        except InputError:
            if mode == "live":
                raise
    return person_lookup(archive=newest_package(s.resolved_archive_dir()))


def newest_package(archive_dir: Path) -> Path:
    """The newest archive package (folder or file holding a .siard) under ``archive_dir``."""
    found = sorted(archive_dir.rglob("*.siard"), key=lambda p: p.stat().st_mtime) if (
        archive_dir.exists()
    ) else []
    if not found:
        raise InputError(
            f"SAMSA's database does not answer and no archive package is in {archive_dir}"
        )
    return found[-1]


def answer_request(
    ledger: Ledger,
    request_id: str,
    *,
    out_dir: Path | None = None,
    source_url: str | None = None,
    archive: Path | None = None,
    produced_on: date | None = None,
) -> Answer:
    """Answer a registered request: write its documents and mark it answered in the ledger."""
    req = get_request(ledger, request_id)
    identity = parse_identity(req.identity)
    out_dir = out_dir or get_settings().resolved_extracts_dir() / "requests" / request_id
    lookup, close = person_lookup(source_url, archive)
    try:
        doc = build_person_extract(
            lookup, identity, request_id=request_id, produced_on=produced_on or clock.today()
        )
    finally:
        close()
    files = write_documents(doc, out_dir)
    mark_answered(ledger, request_id, source=doc["source"], result_dir=out_dir)
    return Answer(request_id, doc["source"], doc["found"], doc["counts"], files)
