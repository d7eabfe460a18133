"""A milestone's ``due`` date expression, parsed into a :class:`DueSpec`.

A ``due`` is a small date expression:

- ``2026-03-31``: an absolute date;
- ``transition``, ``transition + 90d``, ``transition - 6m``: relative to the transition date
  (when the successor covers all of SAMSA's functions in every area; see
  :mod:`models.schedule`);
- ``area south + 30d``: 30 days after the successor is live in that area (south, north,
  east, west): the latest go-live of the stages covering it, projected like the transition;
- ``after <milestone> + 14d``: 14 days after that milestone's due date (or its real
  completion date, once it is done);
- ``before <milestone> - 30d``: 30 days before that milestone's due date.

Offsets are a number and a unit: ``d`` days, ``w`` weeks, ``m`` calendar months
(:func:`shift` clamps month ends). :func:`parse_due` raises ``ValueError`` with a message a
project manager can act on. The four areas a due date (or a gate) may name are here too.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

#: The four areas of the successor's rollout, with their Swedish and English names.
AREA_NAMES: dict[str, dict[str, str]] = {
    "south": {"sv": "Södra området", "en": "Southern area"},
    "north": {"sv": "Norra området", "en": "Northern area"},
    "east": {"sv": "Östra området", "en": "Eastern area"},
    "west": {"sv": "Västra området", "en": "Western area"},
}
Area = Literal["south", "north", "east", "west"]

_DUE_RE = re.compile(
    r"^\s*(?:(?P<transition>transition)|(?P<rel>after|before|area)\s+(?P<anchor>[A-Za-z0-9_-]+))"
    r"\s*(?:(?P<sign>[+-])\s*(?P<n>\d+)\s*(?P<unit>[dwm]))?\s*$"
)
_ISO_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


@dataclass(frozen=True)
class DueSpec:
    """A parsed ``due`` expression: ``kind`` is absolute, transition, area, after or before.

    ``anchor`` is a milestone id (after/before) or an area (area)."""

    kind: Literal["absolute", "transition", "area", "after", "before"]
    absolute: date | None = None
    anchor: str | None = None  # milestone id for after/before
    amount: int = 0  # signed
    unit: Literal["d", "w", "m"] = "d"

    def apply(self, base: date) -> date:
        """``base`` moved by this spec's offset."""
        return shift(base, self.amount, self.unit)

    def __str__(self) -> str:
        if self.kind == "absolute":
            return self.absolute.isoformat() if self.absolute else ""
        head = "transition" if self.kind == "transition" else f"{self.kind} {self.anchor}"
        if not self.amount:
            return head
        sign = "+" if self.amount > 0 else "-"
        return f"{head} {sign} {abs(self.amount)}{self.unit}"


def shift(base: date, amount: int, unit: str) -> date:
    """``base`` + ``amount`` days/weeks/calendar months (month ends are clamped)."""
    if unit == "d":
        return base + timedelta(days=amount)
    if unit == "w":
        return base + timedelta(weeks=amount)
    month0 = base.month - 1 + amount
    year, month = base.year + month0 // 12, month0 % 12 + 1
    day = min(base.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def parse_due(text: str) -> DueSpec:
    """Parse a ``due`` expression; raises ValueError with a readable message."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            "empty due date; write e.g. '2026-03-31', 'transition + 90d' or "
            "'after <milestone> + 14d'"
        )
    m = _ISO_RE.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        try:
            return DueSpec("absolute", absolute=date(y, mo, d))
        except ValueError:
            raise ValueError(
                f"impossible date '{text.strip()}': no such day in the calendar"
            ) from None
    m = _DUE_RE.match(text)
    if not m:
        raise ValueError(
            f"cannot read due date '{text}': write an ISO date (2026-03-31), "
            "'transition + 90d', 'area south + 30d', 'after <milestone> + 14d' or "
            "'before <milestone> - 30d' "
            "(units: d, w, m)"
        )
    amount = int(m["n"]) if m["n"] else 0
    if m["sign"] == "-":
        amount = -amount
    unit = m["unit"] or "d"
    rel = m["rel"]
    if rel == "after" and amount < 0:
        raise ValueError(f"'{text}': 'after' takes a '+' offset (write 'before … - N' instead)")
    if rel == "before" and amount > 0:
        raise ValueError(f"'{text}': 'before' takes a '-' offset (write 'after … + N' instead)")
    if m["transition"] or m["anchor"] == "transition":  # 'before transition - 6m' reads well
        return DueSpec("transition", amount=amount, unit=unit)  # type: ignore[arg-type]
    if rel == "area":
        if m["anchor"] not in AREA_NAMES:
            raise ValueError(
                f"'{text}': unknown area '{m['anchor']}' (use {', '.join(AREA_NAMES)})"
            )
        return DueSpec("area", anchor=m["anchor"], amount=amount, unit=unit)  # type: ignore[arg-type]
    return DueSpec(rel, anchor=m["anchor"], amount=amount, unit=unit)  # type: ignore[arg-type]


#: parse_due remembered per text (a plan asks for the same milestone's spec many times)
parse_due_cached = lru_cache(maxsize=8192)(parse_due)
