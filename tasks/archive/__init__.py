"""Archiving SAMSA's database: SIARD 2.2 inside an E-ARK SIP, streaming, resumable, verified."""

from pathlib import Path

#: Schemas shipped with the project (SIARD metadata.xsd, METS, XLink, DILCIS extensions, PREMIS).
STANDARDS_DIR = Path(__file__).resolve().parent.parent.parent / "deploy" / "standards"
