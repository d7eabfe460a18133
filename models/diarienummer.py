"""The case number (diarienummer) of a disposal decision (gallringsbeslut).

A deletion (``samsa-db-deleted``, ``backups-destroyed``: milestones marked ``disposal`` in
the plan) is approved only with the diarienummer of the gallringsbeslut it carries out, and
that number is kept in the decision and its audit entry.

**Assumption (to be confirmed with Regionarkivet):** a region diarienummer is a registry
prefix of 1–6 letters, the year and a serial number, e.g. ``RS 2026-01234`` (Regionstyrelsen)
or ``GITS 2025-123``. :data:`PATTERN` accepts that shape (the space may be left out; any
case), and :func:`case_number` writes it back as ``PREFIX YYYY-NNNNN`` in capitals.
"""

from __future__ import annotations

import re

from models.errors import InputError

#: prefix, optional space, four-digit year, dash, 1-6 digit serial number
PATTERN = r"^\s*[A-Za-zÅÄÖåäö]{1,6} ?(19|20)\d{2}-\d{1,6}\s*$"
_RE = re.compile(PATTERN)
EXAMPLE = "RS 2026-01234"


def case_number(text: str | None, *, what: str) -> str:
    """``text`` as a diarienummer (``RS 2026-01234``), or :class:`InputError` naming ``what``
    needs one and the shape expected."""
    if not text or not text.strip():
        raise InputError(f"{what}: diarienummer för gallringsbeslutet krävs (t.ex. {EXAMPLE})")
    if not _RE.match(text):
        raise InputError(
            f"{what}: {text.strip()[:40]!r} är inget diarienummer; förväntat "
            f"till exempel {EXAMPLE} (registerbeteckning, år, löpnummer)"
        )
    m = re.match(r"\s*([^\d\s]+) ?(\d{4}-\d+)", text)
    assert m is not None
    return f"{m.group(1).upper()} {m.group(2)}"
