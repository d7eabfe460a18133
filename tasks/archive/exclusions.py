"""What is left out of the archive on purpose (``deploy/plan/archive-exclusions.yaml``).

A package is verified only when what it holds equals the source's inventory; an object of the
source that is not archived must be named here, with the reason and who decided. An entry names
a schema (``vård``), a table or view (``vård.import_tmp``), a column (``vård.typer.gammal``)
or a routine (``vård.rensa``)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.errors import Problem, ValidationFailed
from models.settings import PLAN_DIR

DEFAULT_EXCLUSIONS_PATH = PLAN_DIR / "archive-exclusions.yaml"


class Exclusion(BaseModel):
    """One object left out: what, why, and who decided."""

    model_config = ConfigDict(extra="forbid")

    object: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    decided_by: str = Field(min_length=1)

    def line(self) -> str:
        return f"{self.object} (reason: {self.reason}; decided by {self.decided_by})"


class ExclusionList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exclusions: list[Exclusion] = Field(default_factory=list)

    def find(self, *parts: str) -> Exclusion | None:
        """The entry naming the object ``parts`` (schema[, table[, column]]), if any."""
        name = ".".join(parts)
        return next((e for e in self.exclusions if e.object == name), None)


def load_exclusions(path: Path | None = None) -> ExclusionList:
    """Read and validate the exclusion list (absent default file: nothing excluded)."""
    given = path is not None
    path = path or DEFAULT_EXCLUSIONS_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        if not given:
            return ExclusionList()
        raise ValidationFailed(str(path), [Problem(str(path), "file not found")]) from exc
    except yaml.YAMLError as exc:
        raise ValidationFailed(str(path), [Problem(str(path), f"not YAML: {exc}")]) from exc
    try:
        return ExclusionList.model_validate(data or {})
    except ValidationError as exc:
        problems = [
            Problem(f"{path}:{'.'.join(str(p) for p in e['loc'])}", e["msg"]) for e in exc.errors()
        ]
        raise ValidationFailed(str(path), problems) from exc
