"""What is archived: the source's tables, columns, keys and their SIARD types (by reflection,
so any database SQLAlchemy reaches can be archived)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, MetaData, Table, inspect

from tasks.archive.types import Kind, sql_type_of


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


def default_schema_name(conn: Connection) -> str:
    name = inspect(conn).default_schema_name
    return name or "main"


def describe_source(conn: Connection, schema: str | None = None) -> list[TableSpec]:
    """Every table of ``schema`` (default schema if None), sorted by name, as SIARD sees it."""
    insp = inspect(conn)
    schema_name = schema or default_schema_name(conn)
    names = sorted(insp.get_table_names(schema=schema))
    specs: list[TableSpec] = []
    for i, name in enumerate(names):
        cols = []
        for c in insp.get_columns(name, schema=schema):
            st = sql_type_of(c["type"])
            try:
                original = c["type"].compile(dialect=conn.dialect)
            except Exception:  # noqa: BLE001 - only a label
                original = str(c["type"])
            cols.append(
                ColumnSpec(c["name"], st.kind, st.sql, str(original), bool(c.get("nullable", True)))
            )
        pk = insp.get_pk_constraint(name, schema=schema)
        primary = (
            KeySpec(pk.get("name") or f"pk_{name}", tuple(pk["constrained_columns"]))
            if pk and pk.get("constrained_columns")
            else None
        )
        uniques = [
            KeySpec(
                u.get("name") or f"uq_{name}_{'_'.join(u['column_names'])}",
                tuple(u["column_names"]),
            )
            for u in insp.get_unique_constraints(name, schema=schema)
        ]
        for ix in insp.get_indexes(name, schema=schema):
            if ix.get("unique") and ix["column_names"] and all(ix["column_names"]):
                key = KeySpec(ix.get("name") or f"ux_{name}", tuple(ix["column_names"]))  # type: ignore[arg-type]
                if all(k.columns != key.columns for k in uniques) and (
                    not primary or primary.columns != key.columns
                ):
                    uniques.append(key)
        fks = []
        for j, fk in enumerate(insp.get_foreign_keys(name, schema=schema)):
            opts = fk.get("options") or {}
            fks.append(
                ForeignKeySpec(
                    name=fk.get("name") or f"fk_{name}_{j}",
                    columns=tuple(fk["constrained_columns"]),
                    referenced_schema=fk.get("referred_schema") or schema_name,
                    referenced_table=fk["referred_table"],
                    referenced_columns=tuple(fk["referred_columns"]),
                    delete_action=(opts.get("ondelete") or "").upper() or None,
                    update_action=(opts.get("onupdate") or "").upper() or None,
                )
            )
        specs.append(
            TableSpec(
                schema=schema_name,
                name=name,
                folder=f"table{i}",
                columns=tuple(cols),
                primary_key=primary,
                candidate_keys=tuple(sorted(uniques, key=lambda k: k.name)),
                foreign_keys=tuple(sorted(fks, key=lambda f: f.name)),
            )
        )
    return specs


def reflect_table(conn: Connection, spec: TableSpec, schema: str | None) -> Table:
    """The SQLAlchemy Table for reading ``spec`` (reflected, so types convert values)."""
    md = MetaData()
    return Table(spec.name, md, autoload_with=conn, schema=schema)
