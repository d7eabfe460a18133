"""The one clock of samsa-decom: "now" in UTC and "today" where the project lives.

Nothing else in the product reads the wall clock. Every timestamp the ledger keeps is UTC
(:func:`now`); every date a person sees or a rule counts with is a calendar day in the
project's time zone (``Europe/Stockholm`` by default, :func:`today`, :func:`local_day`).
A rehearsal passes an explicit ``as_of`` day instead of asking this module.

Keeping the reads here gives tests one seam: they freeze the clock (``time-machine``) or
move the machine's clock (``faketime``), and the whole product follows.

Durations (``time.monotonic``) are not wall-clock reads and stay where they are measured.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Stockholm"


def now() -> datetime:
    """This instant, timezone-aware UTC (what the ledger stores)."""
    return datetime.now(UTC)


def project_zone() -> str:
    """The project's time zone from settings (``SAMSA_DECOM_TIMEZONE``)."""
    from models.settings import get_settings

    return get_settings().timezone or DEFAULT_ZONE


def local_day(at: datetime, zone: str | None = None) -> date:
    """The calendar day of the instant ``at`` in ``zone`` (default: the project's zone).

    A naive ``at`` is taken as UTC, as SQLite hands back the ledger's UTC timestamps.
    00:30 in Stockholm on 15 March is 23:30 UTC on 14 March, and this answers 15 March.
    """
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    return aware.astimezone(ZoneInfo(zone or project_zone())).date()


def today(zone: str | None = None) -> date:
    """Today's date in ``zone`` (default: the project's zone)."""
    return local_day(now(), zone)


def local_time_text(at: datetime, zone: str | None = None) -> str:
    """The instant ``at`` as a person reads it in ``zone`` (default: the project's zone),
    to the minute: ``2026-03-01 13:00`` (12:00 UTC in Stockholm's winter). A naive ``at`` is
    taken as UTC."""
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    return aware.astimezone(ZoneInfo(zone or project_zone())).strftime("%Y-%m-%d %H:%M")
