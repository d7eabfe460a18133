"""Keep identities out of messages that may reach Prefect (logs, exception texts, artifacts)."""

from __future__ import annotations

import re

from models.identity import mask

#: Anything shaped like a personnummer, samordningsnummer or VGR reserve number.
IDENTITY_LIKE = re.compile(
    r"(?<![0-9A-Za-z])(\d{8}|\d{6})[-+]?(\d{4}|[A-Za-z]\d{3})(?![0-9]|-[0-9a-fA-F])"
)


def scrub(text: str) -> str:
    """``text`` with every identity-shaped run masked (``19121212-****``)."""
    return IDENTITY_LIKE.sub(lambda m: mask(m.group(1).rjust(8, "0")) if len(m.group(1)) == 8
                             else f"{m.group(1)}-****", text)  # fmt: skip
