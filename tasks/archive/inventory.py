"""Completeness: the inventory of the source taken before archiving, and the same inventory
read back from an archive's ``header/metadata.xml``. A package is verified only when the two
are equal (what the plan excludes is left out of the first, and listed).

Comments are found in the archive as the ``description`` of their schema, table, column or view;
a table's description goes on with its retention line (``Retention: …``) and a schema's with its
sequences (``Sequence: name`` lines), so the comment is the part before those lines."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree

from tasks.archive.metadata import METADATA_NS, RETENTION_LINE, SEQUENCE_LINE

_M = f"{{{METADATA_NS}}}"

#: the counts an archive report and PREMIS state, in this order
COUNTED = ("schemas", "tables", "views", "columns", "rows", "routines", "checks", "comments",
           "sequences", "types")  # fmt: skip


@dataclass
class Inventory:
    """Names of every object (``schema.table[.column]``), and rows per table."""

    schemas: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)  # schema.table → rows
    views: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # of tables and views
    routines: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # objects that carry one
    sequences: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "schemas": len(self.schemas), "tables": len(self.tables), "views": len(self.views),
            "columns": len(self.columns), "rows": sum(self.tables.values()),
            "routines": len(self.routines), "checks": len(self.checks),
            "comments": len(self.comments), "sequences": len(self.sequences),
            "types": len(self.types),
        }  # fmt: skip

    def summary(self) -> str:
        """``schemas=3 tables=4 …`` (the form PREMIS records and ``verify --deep`` reads)."""
        return " ".join(f"{k}={v}" for k, v in self.counts().items())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def parse_summary(text: str) -> dict[str, int]:
        out = {}
        for part in text.split():
            k, _, v = part.partition("=")
            if k in COUNTED and v.isdigit():
                out[k] = int(v)
        return out


def comment_part(description: str, stop: str) -> str:
    """The comment in a description: the lines before the first line starting with ``stop``."""
    lines = description.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(stop):
            return "\n".join(lines[:i]).strip()
    return description.strip()


def held_inventory(metadata: bytes) -> Inventory:
    """The inventory of what an archive's metadata.xml holds."""
    root = etree.fromstring(metadata)
    inv = Inventory()

    def desc(el: Any) -> str:
        return el.findtext(f"{_M}description") or ""

    for s in root.iterfind(f"{_M}schemas/{_M}schema"):
        sname = s.findtext(f"{_M}name") or ""
        inv.schemas.append(sname)
        sdesc = desc(s)
        if comment_part(sdesc, SEQUENCE_LINE):
            inv.comments.append(sname)
        inv.sequences.extend(
            f"{sname}.{line[len(SEQUENCE_LINE) :]}"
            for line in sdesc.split("\n")
            if line.startswith(SEQUENCE_LINE)
        )
        inv.types.extend(
            f"{sname}.{t.findtext(f'{_M}name')}" for t in s.iterfind(f"{_M}types/{_M}type")
        )
        inv.routines.extend(
            f"{sname}.{r.findtext(f'{_M}specificName')}"
            for r in s.iterfind(f"{_M}routines/{_M}routine")
        )
        for t in s.iterfind(f"{_M}tables/{_M}table"):
            q = f"{sname}.{t.findtext(f'{_M}name')}"
            inv.tables[q] = int(t.findtext(f"{_M}rows") or 0)
            if comment_part(desc(t), RETENTION_LINE):
                inv.comments.append(q)
            inv.checks.extend(
                f"{q}.{c.findtext(f'{_M}name')}"
                for c in t.iterfind(f"{_M}checkConstraints/{_M}checkConstraint")
            )
            _columns(t, q, inv)
        for v in s.iterfind(f"{_M}views/{_M}view"):
            q = f"{sname}.{v.findtext(f'{_M}name')}"
            inv.views.append(q)
            if desc(v):
                inv.comments.append(q)
            _columns(v, q, inv)
    return inv


def _columns(el: Any, q: str, inv: Inventory) -> None:
    for c in el.iterfind(f"{_M}columns/{_M}column"):
        cq = f"{q}.{c.findtext(f'{_M}name')}"
        inv.columns.append(cq)
        if c.findtext(f"{_M}description"):
            inv.comments.append(cq)


def compare_inventories(source: Inventory, held: Inventory) -> list[str]:
    """What differs between the source's inventory and the archive's, one line each."""
    problems: list[str] = []
    for what in ("schemas", "views", "columns", "routines", "checks", "comments", "sequences",
                 "types"):  # fmt: skip
        want, got = set(getattr(source, what)), set(getattr(held, what))
        kind = what[:-1]
        for name in sorted(want - got):
            problems.append(f"completeness: {kind} {name} is in the source, not in the archive")
        for name in sorted(got - want):
            problems.append(f"completeness: {kind} {name} is in the archive, not in the source")
    for name in sorted(set(source.tables) | set(held.tables)):
        want_rows, got_rows = source.tables.get(name), held.tables.get(name)
        if want_rows is None:
            problems.append(f"completeness: table {name} is in the archive, not in the source")
        elif got_rows is None:
            problems.append(f"completeness: table {name} is in the source, not in the archive")
        elif want_rows != got_rows:
            problems.append(
                f"completeness: table {name} had {want_rows} rows in the source's inventory, "
                f"the archive holds {got_rows}"
            )
    return problems


def compare_counts(recorded: dict[str, int], held: Inventory) -> list[str]:
    """``verify --deep``: the counts recorded in PREMIS against the archive's metadata.xml."""
    found = held.counts()
    return [
        f"completeness: PREMIS records {k}={v}, metadata.xml holds {found.get(k)}"
        for k, v in recorded.items()
        if found.get(k) != v
    ]
