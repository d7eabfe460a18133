"""Recording archive packages in the ledger (with an audit entry in the same transaction)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from models import clock
from models.ledger import Ledger, utcnow
from models.ledger.archive import ArchivePackage, PackageState
from tasks.archive.resume import source_key

if TYPE_CHECKING:  # not imported at run time: `samsa-decom verify` needs no archiving code
    from tasks.archive.run import ArchiveOutcome


def record_package(
    ledger: Ledger,
    outcome: ArchiveOutcome,
    *,
    source_url: str,
    archival_date: date,
    flow_run_id: str | None = None,
    actor: str = "samsa-decom",
) -> int:
    """Write the package to the ledger; ``verified_at`` only when it was verified."""
    state = PackageState.verified if outcome.verified else PackageState.unverified
    with ledger.unit_of_work() as s:
        row = ArchivePackage(
            objid=outcome.objid,
            path=str(outcome.package.resolve()),
            source_key=source_key(source_url),
            mets_sha256=outcome.mets_sha256,
            siard_sha256=outcome.siard_sha256,
            siard_bytes=outcome.siard_bytes,
            total_rows=outcome.total_rows,
            tables=outcome.counts(),
            state=state,
            detail="; ".join(outcome.problems),
            archival_date=archival_date,
            verified_at=utcnow() if outcome.verified else None,
            flow_run_id=flow_run_id,
        )
        s.add(row)
        s.flush()
        ledger.append_audit(
            s,
            actor=actor,
            action="archive.package_recorded",
            subject=f"archive:{outcome.objid}",
            details={
                "state": state.value,
                "tables": len(outcome.tables),
                "rows": outcome.total_rows,
                "mets_sha256": outcome.mets_sha256,
                "siard_sha256": outcome.siard_sha256,
                "problems": len(outcome.problems),
                "inventory": outcome.inventory.counts(),
                "excluded": outcome.excluded,
            },
        )
        return row.id


def archival_date_of(outcome: ArchiveOutcome, given: date | None = None) -> date:
    """The archival date written into the package (the root METS CREATEDATE)."""
    from lxml import etree

    header = (
        etree.parse(str(outcome.package / "METS.xml"))
        .getroot()
        .find("{http://www.loc.gov/METS/}metsHdr")
    )
    created = header.get("CREATEDATE") if header is not None else None
    if created:
        return date.fromisoformat(created[:10])
    return given or clock.today()


def find_package(ledger: Ledger, package: Path) -> ArchivePackage | None:
    """The newest ledger record of the package at ``package`` (by path, else by OBJID)."""
    return ledger.archive.by_path_or_objid(str(package.resolve()), package.name)


def latest_verified(ledger: Ledger, url: str) -> ArchivePackage | None:
    """The newest verified package of the source at ``url``, if any."""
    return ledger.archive.latest_verified(source_key(url))
