"""The secrecy review (sekretessprövning, OSL 25 kap. 1 §) of a person's extract.

Before a registerutdrag is released, the case officer (handläggare) reviews the data about
third parties that it holds and withholds what secrecy protects:

- ``sip-deltagare``: the names of other participants in SIP meetings (relatives, staff);
- ``fritext``: free text written by staff (message bodies, care-episode notes, SIP goals,
  consent notes), which often names relatives or other patients;
- ``personal``: the names of the staff who read the records (the access log).

A whole category, or one item (``table:id``), is withheld. Staff HSA-ids are left out of the
citizen's version unless the case officer decides otherwise.

:func:`third_party_items` lists what the review must look at; :func:`apply_review` makes the
citizen's version from the complete document.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from models.errors import InputError


class Category(enum.StrEnum):
    """A kind of third-party data that the secrecy review looks at."""

    sip_deltagare = "sip-deltagare"
    fritext = "fritext"
    personal = "personal"


CATEGORY_SV: dict[Category, str] = {
    Category.sip_deltagare: "namn på andra deltagare i SIP-möten (anhöriga, personal)",
    Category.fritext: "fritext skriven av personal (meddelanden, anteckningar, mål)",
    Category.personal: "namn på personal som läst uppgifterna (åtkomstloggen)",
}

#: Where each category lives in the document: (section, field); ``access_log`` is the
#: document's access-log list, the others are record tables.
CATEGORIES: dict[Category, tuple[tuple[str, str], ...]] = {
    Category.sip_deltagare: (("sip_participant", "participant_name"),),
    Category.fritext: (
        ("message", "body"),
        ("care_episode", "note"),
        ("sip_plan", "goal"),
        ("consent", "note"),
    ),  # fmt: skip
    Category.personal: (("access_log", "user_name"),),
}

#: What the citizen's version shows in place of a withheld value.
WITHHELD = "[Uppgiften lämnas inte ut: sekretess]"


def parse_category(text: str) -> Category:
    try:
        return Category(text)
    except ValueError:
        names = ", ".join(c.value for c in Category)
        raise InputError(f"okänd kategori {text!r}: välj en av {names}") from None


def parse_item(category: Category, text: str) -> str:
    """``table:id`` of one item in ``category``; InputError naming what is accepted."""
    table, _, rid = text.partition(":")
    tables = [t for t, _ in CATEGORIES[category]]
    if table not in tables or not rid.isdigit():
        raise InputError(
            f"--post {text!r}: ange tabell:id för kategorin {category.value} "
            f"({', '.join(t + ':ID' for t in tables)})"
        )
    return f"{table}:{int(rid)}"


@dataclass(frozen=True)
class Item:
    """One piece of third-party data in the document (no value: safe to print)."""

    category: Category
    table: str
    id: Any
    field: str

    @property
    def ref(self) -> str:
        return f"{self.table}:{self.id}"


def _rows(doc: dict[str, Any], table: str) -> list[dict[str, Any]]:
    if table == "access_log":
        return list(doc.get("access_log", []))
    return list(doc.get("records", {}).get(table, []))


def _is_third_party(table: str, row: dict[str, Any], field: str) -> bool:
    if not row.get(field):
        return False
    return not (table == "sip_participant" and row.get("role") == "patient")


def third_party_items(doc: dict[str, Any]) -> list[Item]:
    """Every non-empty third-party value in the document, by category, in document order."""
    return [
        Item(category, table, row.get("id"), field)
        for category, places in CATEGORIES.items()
        for table, field in places
        for row in _rows(doc, table)
        if _is_third_party(table, row, field)
    ]


class Withholding(Protocol):
    category: str
    item: str
    ground: str


def apply_review(
    doc: dict[str, Any], withholdings: Iterable[Withholding], *, show_staff_hsa: bool
) -> dict[str, Any]:
    """The citizen's version of ``doc``: every withheld value replaced by :data:`WITHHELD`,
    staff HSA-ids left out unless ``show_staff_hsa``, and a ``review`` section saying what
    was withheld (per category: how many items, on which ground)."""
    out = copy.deepcopy(doc)
    rules = list(withholdings)
    whole = {r.category: r.ground for r in rules if not r.item}
    items = {(r.category, r.item): r.ground for r in rules if r.item}
    by_ref = {ref: (c, g) for (c, ref), g in items.items()}
    withheld: dict[str, dict[str, Any]] = {}
    for item in third_party_items(out):
        ground = whole.get(item.category.value) or items.get((item.category.value, item.ref))
        if ground is None:
            continue
        for row in _rows(out, item.table):
            if row.get("id") == item.id and row.get(item.field):
                row[item.field] = WITHHELD
                if item.table == "access_log":
                    row["user_hsa_id"] = row["user_id"] = None
        entry = withheld.setdefault(item.category.value, {"items": 0, "grounds": []})
        entry["items"] += 1
        if ground not in entry["grounds"]:
            entry["grounds"].append(ground)
    if not show_staff_hsa:
        for row in out.get("access_log", []):
            row["user_hsa_id"] = None
    matched = {i.ref for i in third_party_items(doc)}
    out["review"] = {
        "withheld": withheld,
        "staff_hsa_ids_shown": show_staff_hsa,
        "unmatched_items": sorted(ref for ref in by_ref if ref not in matched),
    }
    return out


def withheld_summary(review: dict[str, Any]) -> str:
    """What was withheld, in Swedish (for the decision text); empty when nothing was."""
    parts = []
    for category, entry in review.get("withheld", {}).items():
        label = CATEGORY_SV.get(Category(category), category)
        parts.append(f"{label}: {entry['items']} uppgifter ({', '.join(entry['grounds'])})")
    return "; ".join(parts)
