"""Retention classes per table (bevarande och gallring), from ``deploy/plan/retention.yaml``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.errors import Problem, ValidationFailed
from models.settings import PLAN_DIR

DEFAULT_RETENTION_PATH = PLAN_DIR / "retention.yaml"


class RetentionKind(StrEnum):
    keep = "keep"
    delete_after = "delete_after"
    legal_hold = "legal_hold"
    unclassified = "unclassified"


class Retention(BaseModel):
    """The retention class of one table."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: RetentionKind = Field(alias="class")
    years: int | None = None
    basis: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _years_match_class(self) -> Retention:
        if self.kind is RetentionKind.delete_after and not self.years:
            raise ValueError("class delete_after needs `years`")
        if self.kind is not RetentionKind.delete_after and self.years is not None:
            raise ValueError(f"class {self.kind.value} takes no `years`")
        return self

    def label(self) -> str:
        if self.kind is RetentionKind.delete_after:
            return f"delete_after {self.years} years after last entry"
        return self.kind.value


UNCLASSIFIED = Retention.model_validate({"class": "unclassified", "basis": "missing in plan"})


class RetentionPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_basis: str = ""
    tables: dict[str, Retention]

    def for_table(self, name: str) -> Retention:
        return self.tables.get(name, UNCLASSIFIED)


def load_retention(path: Path | None = None) -> RetentionPlan:
    """Read and validate the retention plan; every problem is listed with its place."""
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
        problems = [
            Problem(f"{path}:{'.'.join(str(p) for p in e['loc'])}", e["msg"]) for e in exc.errors()
        ]
        raise ValidationFailed(str(path), problems) from exc
