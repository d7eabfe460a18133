"""Bevarande och gallring per tabell × organisationsslag, from ``deploy/plan/retention.yaml``.

The same ``message`` or ``sip_plan`` row can be the region's health care, a municipality's
health care, social services, LSS or a private provider's care; who wrote it decides how long
it is kept. So the plan keys each table's class on the kind of organisation
(:class:`OrgKind`), and each kind says which SAMSA ``organisation.kind`` its rows come from.

The rules that validation enforces (a plan that breaks one is refused, every problem listed):

- a class ``gallras`` (disposal) must cite the archive authority's gallringsbeslut
  (Arkivlagen 10 §); without one the class is ``bevaras``;
- a minimum keeping time (PDL 3 kap. 17 §: at least 10 years after the last entry) is never a
  deletion date: a disposal sooner than the kind's minimum is refused;
- a kind whose records are never disposed of (LSS) takes no ``gallras``;
- ``överlämnas`` (handed over to the record's owner) is only for records that are not public
  records (a private provider's, outside Arkivlagen), and says how they are handed over;
- each table covers every kind, by name or by ``all``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from models.errors import Problem, ValidationFailed
from models.settings import PLAN_DIR

DEFAULT_RETENTION_PATH = PLAN_DIR / "retention.yaml"
#: a table entry that applies to every organisation kind not named in it
ALL_KINDS = "all"
#: a text that must say something (blanks do not count)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class RetentionKind(StrEnum):
    """What happens to a class of records."""

    bevaras = "bevaras"  # kept for good
    gallras = "gallras"  # disposed of `years` after the last entry, under a gallringsbeslut
    overlamnas = "överlämnas"  # handed over to its owner (not a public record)
    unclassified = "oklassad"  # not in the plan; the archive run names it


class Gallringsbeslut(BaseModel):
    """The archive authority's disposal decision (Arkivlagen 10 §) that a class rests on."""

    model_config = ConfigDict(extra="forbid")

    authority: Text = Field(description="Arkivmyndigheten som fattat beslutet.")
    reference: Text = Field(description="Beslutets diarienummer.")
    decided_on: str = ""

    def cite(self) -> str:
        day = f" {self.decided_on}" if self.decided_on else ""
        return f"gallringsbeslut {self.authority} dnr {self.reference}{day}"


class OrgKind(BaseModel):
    """A kind of organisation whose records SAMSA holds, and the law its records fall under."""

    model_config = ConfigDict(extra="forbid")

    title: str
    law: str
    rows_of: list[str] = Field(min_length=1, description="SAMSA organisation.kind values.")
    public_records: bool = True
    archive_authority: str = ""
    minimum_years: int | None = None
    minimum_basis: str = ""
    never_disposed: bool = False
    never_disposed_basis: str = ""
    handover: str = ""


class Retention(BaseModel):
    """The class of one table's records of one organisation kind."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: RetentionKind = Field(alias="class")
    years: int | None = Field(default=None, ge=1)
    gallringsbeslut: Gallringsbeslut | None = None
    basis: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _fields_match_class(self) -> Retention:
        if self.kind is RetentionKind.gallras:
            if self.gallringsbeslut is None:
                raise ValueError(
                    "class gallras needs a gallringsbeslut (authority and reference, "
                    "Arkivlagen 10 §); without one the class is bevaras"
                )
            if not self.years:
                raise ValueError("class gallras needs `years` after the last entry")
        elif self.years is not None or self.gallringsbeslut is not None:
            raise ValueError(
                f"class {self.kind.value} takes no `years` or `gallringsbeslut` "
                "(only a class gallras disposes)"
            )
        return self

    def label(self) -> str:
        if self.kind is RetentionKind.gallras and self.gallringsbeslut:
            return (
                f"gallras {self.years} år efter sista anteckningen ({self.gallringsbeslut.cite()})"
            )
        return self.kind.value

    def keeps_longer_than(self, other: Retention) -> bool:
        """True if this class keeps the records longer than ``other`` (for rows whose kind
        SAMSA cannot tell apart, the longest applies)."""
        return _rank(self) > _rank(other)


def _rank(r: Retention) -> float:
    if r.kind is RetentionKind.gallras:
        return float(r.years or 0)
    return float("inf")


UNCLASSIFIED = Retention.model_validate({"class": "oklassad", "basis": "saknas i planen"})


class TableRetention(BaseModel):
    """One table's classes, one per organisation kind."""

    model_config = ConfigDict(frozen=True)

    table: str
    by_kind: dict[str, Retention]

    def label(self) -> str:
        """One line: ``bevaras`` when every kind has the same class, else each class with its
        kinds, e.g. ``bevaras (region_hsl, lss); överlämnas (private_provider)``."""
        groups: dict[str, list[str]] = {}
        for k, r in self.by_kind.items():
            groups.setdefault(r.label(), []).append(k)
        if len(groups) == 1:
            return next(iter(groups))
        return "; ".join(f"{label} ({', '.join(kinds)})" for label, kinds in groups.items())

    def description(self) -> str:
        """The text for the table's description in metadata.xml (after ``Retention: ``)."""
        parts = [f"{self.label()}."]
        bases = list(dict.fromkeys(r.basis for r in self.by_kind.values() if r.basis))
        if bases:
            parts.append("Grund: " + "; ".join(bases) + ".")
        notes = list(dict.fromkeys(r.note for r in self.by_kind.values() if r.note))
        parts += notes
        return " ".join(parts)

    def summary(self) -> dict[str, Any]:
        """What a table spec carries (JSON): the label, the description and the classes."""
        return {
            "label": self.label(),
            "text": self.description(),
            "classes": {
                k: r.model_dump(mode="json", by_alias=True) for k, r in self.by_kind.items()
            },
        }


class RetentionPlan(BaseModel):
    """The keyed retention table: organisation kinds and, per table, a class per kind."""

    model_config = ConfigDict(extra="forbid")

    default_basis: str = ""
    organisation_kinds: dict[str, OrgKind] = Field(min_length=1)
    tables: dict[str, dict[str, Retention]]

    @model_validator(mode="after")
    def _classes_obey_their_kind(self) -> RetentionPlan:
        problems: list[str] = []
        for table, classes in self.tables.items():
            unknown = [k for k in classes if k != ALL_KINDS and k not in self.organisation_kinds]
            if unknown:
                problems.append(f"tables.{table}: unknown organisation kind {', '.join(unknown)}")
            missing = [k for k in self.organisation_kinds if k not in classes]
            if missing and ALL_KINDS not in classes:
                problems.append(
                    f"tables.{table}: no class for {', '.join(missing)} (name them or use `all`)"
                )
            for kind_id in self.organisation_kinds:
                r = classes.get(kind_id) or classes.get(ALL_KINDS)
                if r is not None:
                    problems += _kind_rules(table, kind_id, self.organisation_kinds[kind_id], r)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def for_table(self, name: str) -> TableRetention:
        """The table's class per organisation kind (``oklassad`` when it is missing)."""
        classes = self.tables.get(name, {})
        return TableRetention(
            table=name,
            by_kind={
                k: classes.get(k) or classes.get(ALL_KINDS) or UNCLASSIFIED
                for k in self.organisation_kinds
            },
        )

    def for_rows(self, table: str, organisation_kind: str) -> Retention:
        """The class of the table's rows written by an organisation of SAMSA kind
        ``organisation_kind`` (``municipality``, ``region_unit``, ``private_provider``).
        SAMSA does not record whether a municipality's row is health care, social services
        or LSS, so where several kinds fit, the one that keeps longest applies."""
        by_kind = self.for_table(table).by_kind
        kinds = self.organisation_kinds.items()
        fitting = [by_kind[k] for k, kind in kinds if organisation_kind in kind.rows_of]
        if not fitting:
            return UNCLASSIFIED
        best = fitting[0]
        for r in fitting[1:]:
            if r.keeps_longer_than(best):
                best = r
        return best


def _kind_rules(table: str, kind_id: str, kind: OrgKind, r: Retention) -> list[str]:
    where = f"tables.{table}.{kind_id}"
    out: list[str] = []
    if r.kind is RetentionKind.gallras:
        if kind.never_disposed:
            out.append(
                f"{where}: {kind.title} is never disposed of "
                f"({kind.never_disposed_basis or kind.law}); the class must be bevaras"
            )
        if kind.minimum_years and (r.years or 0) < kind.minimum_years:
            out.append(
                f"{where}: gallras after {r.years} years is sooner than the minimum of "
                f"{kind.minimum_years} years ({kind.minimum_basis or kind.law}); a minimum is "
                "never a deletion date"
            )
    if r.kind is RetentionKind.overlamnas:
        if kind.public_records:
            out.append(
                f"{where}: {kind.title}'s records are public records (Arkivlagen); they are "
                "kept or disposed of under a gallringsbeslut, not handed over"
            )
        if not kind.handover:
            out.append(f"{where}: class överlämnas needs the kind's `handover` text")
    return out


def load_retention(path: Path | None = None) -> RetentionPlan:
    """Read and validate the retention plan; every problem is listed with its place. A bad plan
    is bad input (exit 2) and nothing is archived."""
    path = path or DEFAULT_RETENTION_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationFailed(str(path), [Problem(str(path), "file not found")]) from exc
    except yaml.YAMLError as exc:
        raise ValidationFailed(str(path), [Problem(str(path), f"not YAML: {exc}")]) from exc
    try:
        return RetentionPlan.model_validate(data)
    except ValidationError as exc:
        problems: list[Problem] = []
        for e in exc.errors():
            place = ".".join(str(p) for p in e["loc"])
            msg = str(e["msg"]).removeprefix("Value error, ")
            if not place:  # the plan-wide rules: one problem per line
                problems += [Problem(str(path), m) for m in msg.split("\n")]
            else:
                problems.append(Problem(f"{path}:{place}", msg))
        raise ValidationFailed(str(path), problems) from exc
