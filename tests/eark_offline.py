"""Run the real E-ARK validator (``eark-validator`` from PyPI) without network.

The validator downloads its controlled vocabularies from ``https://earkcsip.dilcis.eu/schema/…``
with ``urllib.request.urlopen`` when it is imported. Here a urllib handler (installed with
``urllib.request.install_opener``, urllib's own configuration hook) answers those URLs from
the saved copies in ``/work/shared/standards/e-ark-csip/schema`` and refuses every other
https URL, so nothing is faked: the validator runs its full schema and Schematron checks.
"""

from __future__ import annotations

import io
import os
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any

VOCAB_DIR = Path(
    os.environ.get("SAMSA_DECOM_EARK_VOCABS", "/work/shared/standards/e-ark-csip/schema")
)
PREFIX = "https://earkcsip.dilcis.eu/schema/"


class _LocalVocabularies(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> Any:
        url = req.full_url
        if not url.startswith(PREFIX):
            raise urllib.error.URLError(f"offline test: refusing {url}")
        data = (VOCAB_DIR / url.removeprefix(PREFIX)).read_bytes()
        headers = Message()
        headers["Content-Type"] = "application/xml"
        resp = urllib.response.addinfourl(io.BytesIO(data), headers, url, 200)
        resp.msg = "OK"  # type: ignore[attr-defined]
        return resp


def validate_package(path: Path) -> tuple[list[dict[str, Any]], Any]:
    """The validator's ERROR results for the package at ``path`` and its full report."""
    urllib.request.install_opener(urllib.request.build_opener(_LocalVocabularies()))
    from eark_validator.packages import PackageValidator

    report = PackageValidator(Path(path)).validation_report
    data = report.model_dump(mode="json")
    errors: list[dict[str, Any]] = []
    for m in (data.get("structure") or {}).get("messages", []):
        if m.get("severity") == "Error":
            errors.append(m)
    md = data.get("metadata") or {}
    for part in ("schema_results", "schematron_results"):
        for m in (md.get(part) or {}).get("messages", []):
            if str(m.get("severity")).lower() == "error":
                errors.append(m)
    return errors, report
