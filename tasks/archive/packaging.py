"""The packaging step of an archive run: the E-ARK SIP folder around the verified .siard.

The package is assembled in ``<out>/<OBJID>.part`` (:class:`PackageFolder`) and renamed to
``<out>/<OBJID>`` only when complete, never deleting the last good copy first. Its OBJID comes
from the archived content (table names, row counts, digests) and the archival date, so the
same source gives the same package, byte for byte. The run moves the finished .siard into the
folder and verifies it there; :func:`write_package` then adds the extras' files, the METS,
PREMIS and retention documents (made by :mod:`tasks.archive.package`), the schemas and the
report, and renames the folder into place. :func:`archive_info` and :func:`package_facts` hold
who made, owns and keeps the archive, as metadata.xml and the METS/PREMIS documents name them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.archive.durable import replace_folder
from tasks.archive.metadata import ArchiveInfo
from tasks.archive.package import (
    REPRESENTATION,
    SCHEMA_FILES,
    FileFact,
    PackageFacts,
    TableFact,
    archival_datetime,
    copy_schemas,
    premis_xml,
    report_md,
    representation_mets,
    retention_xml,
    root_mets,
)

if TYPE_CHECKING:
    from tasks.archive.retention import RetentionPlan

SOFTWARE = "samsa-decom"
SOFTWARE_VERSION = "0.1.0"


def package_objid(tables: list[TableFact], archival: date) -> str:
    """The package's OBJID: from the archived tables' names, counts and digests and the date."""
    content_id = hashlib.sha256(
        json.dumps([(t.name, t.rows, t.digest) for t in tables]).encode()
    ).hexdigest()
    return f"samsa-{uuid.uuid5(uuid.NAMESPACE_URL, f'samsa-decom:{content_id}:{archival}')}"


@dataclass(frozen=True)
class PackageFolder:
    """The package being assembled: ``staging`` until complete, then ``final``."""

    out_dir: Path
    objid: str
    siard_name: str

    @classmethod
    def start(cls, out_dir: Path, objid: str, dbname: str) -> PackageFolder:
        """An empty staging folder (a leftover one is deleted) with the data folder made."""
        folder = cls(out_dir, objid, f"{_safe_name(dbname)}.siard")
        shutil.rmtree(folder.staging, ignore_errors=True)
        (folder.rep / "data").mkdir(parents=True)
        return folder

    @property
    def staging(self) -> Path:
        return self.out_dir / f"{self.objid}.part"

    @property
    def final(self) -> Path:
        return self.out_dir / self.objid

    @property
    def rep(self) -> Path:
        return self.staging / "representations" / REPRESENTATION

    @property
    def siard_path(self) -> Path:
        return self.rep / "data" / self.siard_name


def archive_info(dbname: str, snapshot: str, archival: date, product: str) -> ArchiveInfo:
    """What metadata.xml says about the archived database (``snapshot``: how it was read)."""
    return ArchiveInfo(
        dbname=dbname,
        description=f"SAMSA IT-tjänst database, archived by {SOFTWARE} ({snapshot}).",
        data_owner=(
            "Västra Götalandsregionen and the 49 municipalities of Västra Götaland "
            "(SAMSA IT-tjänst)"
        ),
        data_origin_timespan=f"until {archival.isoformat()}",
        archival_date=archival,
        producer=f"{SOFTWARE} {SOFTWARE_VERSION}",
        database_product=product,
    )


def package_facts(
    folder: PackageFolder,
    dbname: str,
    archival: date,
    product: str,
    tables: list[TableFact],
    verified: bool,
    detail: str,
    inventory_summary: str,
    excluded: list[str],
) -> PackageFacts:
    """Everything the METS and PREMIS documents say about this package."""
    return PackageFacts(
        objid=folder.objid,
        label=f"{dbname} database archive (SIARD 2.2)",
        created=archival_datetime(archival),
        software=SOFTWARE,
        software_version=SOFTWARE_VERSION,
        submitting_agent="Västra Götalandsregionen, SAMSA IT-tjänst (förvaltning GITS)",
        archival_creator="Västra Götalandsregionen och de 49 kommunerna i Västra Götaland",
        preservation_agent="Regionarkivet, Västra Götalandsregionen",
        database_product=product,
        siard_name=folder.siard_name,
        tables=tables,
        verified=verified,
        verification_detail=detail,
        inventory_summary=inventory_summary,
        excluded=excluded,
    )


def write_package(
    folder: PackageFolder,
    facts: PackageFacts,
    siard_fact: FileFact,
    extra_files: list[Path],
    retention_name: str,
    retention: RetentionPlan | None = None,
) -> None:
    """Write the package's documents around the .siard already in ``folder`` and rename the
    folder into place (``retention_name``: the retention file the classes came from;
    ``retention``: its keyed table, written whole into retention.xml)."""
    staging, rep = folder.staging, folder.rep
    other = staging / "metadata" / "other"
    extra_facts = []
    for f in sorted(extra_files, key=lambda p: p.name):
        other.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, other / f.name)
        extra_facts.append(FileFact.of(other / f.name, f"metadata/other/{f.name}"))
    (rep / "METS.xml").write_bytes(representation_mets(facts, [siard_fact]))
    copy_schemas(staging / "schemas")
    (staging / "metadata" / "descriptive").mkdir(parents=True)
    (staging / "metadata" / "preservation").mkdir(parents=True)
    retention_file = staging / "metadata" / "descriptive" / "retention.xml"
    retention_file.write_bytes(retention_xml(facts, retention_name, retention))
    premis_file = staging / "metadata" / "preservation" / "premis.xml"
    premis_file.write_bytes(premis_xml(facts, siard_fact))
    (staging / "documentation").mkdir()
    report = staging / "documentation" / "archive-report.md"
    report.write_bytes(report_md(facts))
    mets = root_mets(
        facts,
        retention=FileFact.of(retention_file, "metadata/descriptive/retention.xml"),
        premis=FileFact.of(premis_file, "metadata/preservation/premis.xml"),
        extras=extra_facts,
        documentation=[FileFact.of(report, "documentation/archive-report.md")],
        schemas=[FileFact.of(staging / "schemas" / n, f"schemas/{n}") for n in SCHEMA_FILES],
        rep_mets=FileFact.of(rep / "METS.xml", f"representations/{REPRESENTATION}/METS.xml"),
    )
    (staging / "METS.xml").write_bytes(mets)
    replace_folder(staging, folder.final)  # the last good copy is never deleted first


def _safe_name(name: str) -> str:
    s = "".join(ch if ch.isalnum() else "_" for ch in name).strip("_") or "database"
    return s if s[0].isalpha() else f"db_{s}"
