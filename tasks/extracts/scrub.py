"""Keep identities out of messages that may reach Prefect (logs, exception texts, artifacts)."""

from __future__ import annotations

from models.identity import IDENTITY_LIKE, scrub_identities

__all__ = ["IDENTITY_LIKE", "scrub"]


def scrub(text: str) -> str:
    """``text`` with every identity-shaped run masked (``19121212-****``)."""
    return scrub_identities(text)
