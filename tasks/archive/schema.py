"""What is archived: the source's tables, columns, keys and their SIARD types (by reflection,
so any database SQLAlchemy reaches can be archived)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, MetaData, Table

from tasks.archive.types import Kind


@dataclass(frozen=True)
class ColumnSpec:
    """One column as SIARD sees it. ``read_as`` says how it is read from the source: ``""``
    as the driver gives it, ``"text"`` as its text form (CAST … AS TEXT: uuid, json, inet, enum,
    …), ``"numeric"`` (money), ``"interval"`` (ISO 8601 text). An array column has a
    ``cardinality`` (its longest value), and ``kind``/``sql_type`` are its elements'."""

    name: str
    kind: Kind
    sql_type: str
    type_original: str
    nullable: bool
    read_as: str = ""
    cardinality: int | None = None
    description: str = ""


@dataclass(frozen=True)
class KeySpec:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ForeignKeySpec:
    name: str
    columns: tuple[str, ...]
    referenced_schema: str
    referenced_table: str
    referenced_columns: tuple[str, ...]
    delete_action: str | None = None
    update_action: str | None = None


@dataclass(frozen=True)
class CheckSpec:
    name: str
    condition: str


@dataclass(frozen=True)
class TableSpec:
    schema: str
    name: str
    folder: str  # table0, table1, … (sorted by name, per schema)
    columns: tuple[ColumnSpec, ...]
    primary_key: KeySpec | None
    candidate_keys: tuple[KeySpec, ...] = ()
    foreign_keys: tuple[ForeignKeySpec, ...] = ()
    retention: dict[str, Any] = field(default_factory=dict)
    schema_folder: str = "schema0"  # schema0 is the source's default schema
    description: str = ""  # the table's comment in the source
    check_constraints: tuple[CheckSpec, ...] = ()

    @property
    def key(self) -> str:
        """The table's name in results, digests and PREMIS: its name in the default schema
        (``schema0``), ``schema.name`` in any other."""
        return table_key(self.schema_folder, self.schema, self.name)

    @property
    def schema_arg(self) -> str:
        """The schema to name in queries."""
        return self.schema

    @property
    def work_folder(self) -> str:
        """The table's folder in the work area (unique over schemas)."""
        if self.schema_folder == "schema0":
            return self.folder
        return f"{self.schema_folder}-{self.folder}"

    @property
    def order_by(self) -> tuple[str, ...]:
        """The deterministic row order: the primary key, else every column."""
        if self.primary_key:
            return self.primary_key.columns
        return tuple(c.name for c in self.columns)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(d: dict[str, Any]) -> TableSpec:
        return TableSpec(
            schema=d["schema"],
            name=d["name"],
            folder=d["folder"],
            columns=tuple(ColumnSpec(**{**c, "kind": Kind(c["kind"])}) for c in d["columns"]),
            primary_key=(
                KeySpec(d["primary_key"]["name"], tuple(d["primary_key"]["columns"]))
                if d["primary_key"]
                else None
            ),
            candidate_keys=tuple(
                KeySpec(k["name"], tuple(k["columns"])) for k in d["candidate_keys"]
            ),
            foreign_keys=tuple(
                ForeignKeySpec(
                    **{
                        **f,
                        "columns": tuple(f["columns"]),
                        "referenced_columns": tuple(f["referenced_columns"]),
                    }
                )
                for f in d["foreign_keys"]
            ),
            retention=d.get("retention", {}),
            schema_folder=d.get("schema_folder", "schema0"),
            description=d.get("description", ""),
            check_constraints=tuple(CheckSpec(**c) for c in d.get("check_constraints", ())),
        )


def table_key(schema_folder: str, schema: str, name: str) -> str:
    """See :attr:`TableSpec.key`."""
    return name if schema_folder == "schema0" else f"{schema}.{name}"


def reflect_table(conn: Connection, spec: TableSpec, schema: str | None) -> Table:
    """The SQLAlchemy Table for reading ``spec`` (reflected, so types convert values)."""
    md = MetaData()
    return Table(spec.name, md, autoload_with=conn, schema=schema)
