"""The source's catalogue, read before anything is written: every schema, table, view, column
(with its SIARD type), key, check constraint, comment, sequence, routine, enum and domain, the
users and privileges where they can be read, and each table's row count.

Anything the archive cannot represent is collected (``schema.table.column``: type and reason)
and reported all at once as bad input, so nothing is written. What the plan excludes on purpose
(:mod:`tasks.archive.exclusions`) is left out and listed. Works on any database SQLAlchemy
reflects; PostgreSQL's and MySQL/MariaDB's own catalogues add what reflection does not give
(type facts, routines, privileges)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy import types as sa_types
from sqlalchemy.dialects import postgresql as pg

from models.errors import InputError, Problem, ValidationFailed
from tasks.archive.exclusions import Exclusion, ExclusionList
from tasks.archive.inventory import Inventory
from tasks.archive.schema import CheckSpec, ColumnSpec, ForeignKeySpec, KeySpec, TableSpec
from tasks.archive.system_catalogue import (
    PrivilegeSpec,
    RoutineSpec,
    TypeSpec,
    granted_privileges,
    named_types,
    schema_comment,
    schema_routines,
    sequence_names,
    type_facts,
)
from tasks.archive.typemap import Mapped, PgTypeFacts, Unrepresentable, map_type

if TYPE_CHECKING:
    from tasks.archive.postgres.copy_stream import CountsInBackground

#: schemas that belong to the database system, not to the application
SYSTEM_SCHEMAS = {
    "information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys",
}  # fmt: skip


@dataclass(frozen=True)
class ViewSpec:
    schema: str
    name: str
    query: str
    description: str
    columns: tuple[ColumnSpec, ...]


@dataclass
class SchemaSpec:
    name: str
    folder: str
    description: str = ""
    tables: list[TableSpec] = field(default_factory=list)
    views: list[ViewSpec] = field(default_factory=list)
    routines: list[RoutineSpec] = field(default_factory=list)
    types: list[TypeSpec] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)


@dataclass
class Catalogue:
    """What the source holds (less what the plan excludes), and the row counts."""

    schemas: list[SchemaSpec]
    users: list[str]
    privileges: list[PrivilegeSpec]
    row_counts: dict[str, int]  # table key → rows
    excluded: list[Exclusion]
    not_selected: list[str]  # schemas on the server outside the chosen ones

    def tables(self) -> list[TableSpec]:
        return [t for s in self.schemas for t in s.tables]

    def inventory(self) -> Inventory:
        """The counts and names the finished archive must hold."""
        inv = Inventory()
        for s in self.schemas:
            inv.schemas.append(s.name)
            if s.description:
                inv.comments.append(s.name)
            inv.sequences.extend(f"{s.name}.{q}" for q in s.sequences)
            inv.types.extend(f"{s.name}.{t.name}" for t in s.types)
            inv.routines.extend(f"{s.name}.{r.specific_name}" for r in s.routines)
            for t in s.tables:
                q = f"{s.name}.{t.name}"
                inv.tables[q] = self.row_counts[t.key]
                inv.checks.extend(f"{q}.{c.name}" for c in t.check_constraints)
                if t.description:
                    inv.comments.append(q)
                for c in t.columns:
                    inv.columns.append(f"{q}.{c.name}")
                    if c.description:
                        inv.comments.append(f"{q}.{c.name}")
            for v in s.views:
                q = f"{s.name}.{v.name}"
                inv.views.append(q)
                if v.description:
                    inv.comments.append(q)
                inv.columns.extend(f"{q}.{c.name}" for c in v.columns)
                inv.comments.extend(f"{q}.{c.name}" for c in v.columns if c.description)
        return inv


def _schema_names(conn: Connection, chosen: list[str] | None) -> tuple[list[str], list[str]]:
    """The schemas to archive (the default one first, then by name) and those left aside."""
    insp = inspect(conn)
    default = insp.default_schema_name or "main"
    if conn.dialect.name == "sqlite":
        present = ["main"]
    else:
        present = [
            s for s in insp.get_schema_names()
            if s not in SYSTEM_SCHEMAS and not s.startswith(("pg_toast", "pg_temp"))
        ]  # fmt: skip
    if chosen:
        unknown = [s for s in chosen if s not in present]
        if unknown:
            raise InputError(f"no schema {', '.join(map(repr, unknown))} in the source database")
        wanted = list(dict.fromkeys(chosen))
    else:
        wanted = present
    ordered = ([default] if default in wanted else []) + sorted(s for s in wanted if s != default)
    return ordered, sorted(s for s in present if s not in ordered)


def _counts_in_background(conn: Connection, quoted: list[str]) -> CountsInBackground | None:
    """On PostgreSQL with psql (see :func:`~tasks.archive.postgres.copy_stream.psql_available`),
    the tables' row counts taken in this snapshot by another process; else None."""
    if conn.dialect.name != "postgresql" or not quoted:
        return None
    from tasks.archive.postgres.copy_stream import CountsInBackground, psql_available

    raw = conn.connection.driver_connection
    return CountsInBackground(raw, quoted) if psql_available(raw) else None


def _quote(conn: Connection, schema_arg: str | None, name: str) -> str:
    q = conn.dialect.identifier_preparer.quote
    return (f"{q(schema_arg)}." if schema_arg else "") + q(name)


def _type_original(conn: Connection, t: Any, facts: PgTypeFacts | None) -> str:
    """The type as the database names it: SQLAlchemy's rendering, or the catalogue's for
    types SQLAlchemy does not know and for named types (enums, domains: schema-qualified)."""
    named = isinstance(t, sa_types.NullType | sa_types.Enum | pg.DOMAIN)
    if facts is not None and facts.type_schema in ("mysql", "sqlite"):
        named = isinstance(t, sa_types.NullType)
    if facts is not None and (named or isinstance(t, pg.ARRAY)):
        return facts.shown
    try:
        return str(t.compile(dialect=conn.dialect))
    except Exception:  # noqa: BLE001 - only a label
        return facts.shown if facts else str(t)


class _Reflection:
    """The inspector's answers for one schema's tables and views.

    On PostgreSQL each kind (columns, keys, indexes, checks, comments) is read for all of
    them in one query (SQLAlchemy's ``get_multi_*``, which the per-table methods call with
    one name): about 5 ms a table and kind fewer on every archive. Other dialects are asked
    table by table, as before."""

    def __init__(self, conn: Connection, schema_arg: str | None, names: list[str]) -> None:
        self.insp = inspect(conn)
        self.schema_arg = schema_arg
        self.names = names
        self.multi = conn.dialect.name == "postgresql"
        self._got: dict[str, dict[tuple[str | None, str], Any]] = {}

    def ask(self, kind: str, name: str) -> Any:
        """``get_<kind>(name)``, e.g. ``ask("pk_constraint", "person")``."""
        if self.multi:
            if kind not in self._got:
                from sqlalchemy.engine.reflection import ObjectKind

                many = getattr(self.insp, f"get_multi_{kind}")
                self._got[kind] = dict(
                    many(schema=self.schema_arg, filter_names=self.names, kind=ObjectKind.ANY)
                )
            found = self._got[kind].get((self.schema_arg, name))
            if found is not None:
                return found
        return getattr(self.insp, f"get_{kind}")(name, schema=self.schema_arg)


def _kept_columns(
    refl: _Reflection,
    conn: Connection,
    schema: str,
    schema_arg: str | None,
    relation: str,
    facts: dict[tuple[str, str], PgTypeFacts],
    problems: list[Problem],
    exclusions: ExclusionList,
    excluded: list[Exclusion],
) -> list[ColumnSpec] | None:
    """The columns of a table or view, or None when the plan excludes it (then listed in
    ``excluded``)."""
    skip = exclusions.find(schema, relation)
    if skip is not None:
        excluded.append(skip)
        return None
    dialect = conn.dialect.name
    out: list[ColumnSpec] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa_exc.SAWarning)  # unknown types: judged below
        reflected = refl.ask("columns", relation)
    for c in reflected:
        where = f"{schema}.{relation}.{c['name']}"
        skip = exclusions.find(schema, relation, c["name"])
        if skip is not None:
            excluded.append(skip)
            continue
        f = facts.get((relation, c["name"]))
        original = _type_original(conn, c["type"], f)
        try:
            m: Mapped = map_type(c["type"], dialect, f)
        except Unrepresentable as exc:
            problems.append(Problem(where, f"type {original}: {exc}"))
            continue
        if f is not None and f.type_schema == "sqlite" and m.read_as == "text":
            original = f.shown  # a declared name SQLAlchemy only guessed at
        out.append(
            ColumnSpec(
                c["name"], m.kind, m.sql, original, bool(c.get("nullable", True)),
                read_as=m.read_as, cardinality=1 if m.array else None,
                description=c.get("comment") or "",
            )
        )  # fmt: skip
    return out


def _array_cardinalities(
    conn: Connection, schema: str, table: str, schema_arg: str | None,
    cols: list[ColumnSpec], problems: list[Problem],
) -> list[ColumnSpec]:  # fmt: skip
    """Array columns get the longest value's length as their cardinality; an array value with
    more than one dimension cannot be held."""
    arrays = [c for c in cols if c.cardinality is not None]
    if not arrays:
        return cols
    q = conn.dialect.identifier_preparer.quote
    parts = ", ".join(
        f"coalesce(max(cardinality({q(c.name)})), 0), coalesce(max(array_ndims({q(c.name)})), 1)"
        for c in arrays
    )
    found = conn.execute(text(f"SELECT {parts} FROM {_quote(conn, schema_arg, table)}")).one()
    sizes: dict[str, int] = {}
    for i, c in enumerate(arrays):
        card, dims = int(found[2 * i]), int(found[2 * i + 1])
        if dims > 1:
            problems.append(
                Problem(f"{schema}.{table}.{c.name}", f"type {c.type_original}: "
                        f"values with {dims} dimensions (SIARD arrays have one)")
            )  # fmt: skip
        sizes[c.name] = max(card, 1)
    return [
        ColumnSpec(**{**c.__dict__, "cardinality": sizes[c.name]}) if c.name in sizes else c
        for c in cols
    ]


def _mixed_sign_intervals(
    conn: Connection, schema: str, table: str, schema_arg: str | None,
    cols: list[ColumnSpec], problems: list[Problem],
) -> None:  # fmt: skip
    """PostgreSQL intervals whose parts have different signs (``1 mon -1 day``) have no
    ``xs:duration``: named here, before anything is written."""
    q = conn.dialect.identifier_preparer.quote
    for c in cols:
        if c.read_as != "interval" or c.cardinality is not None:
            continue
        col = f"{q(c.name)}::text"
        n = conn.execute(
            text(
                f"SELECT count(*) FROM {_quote(conn, schema_arg, table)} "
                f"WHERE {col} ~ '-[0-9]' AND {col} ~ '[PTYMDH][0-9]'"
            )
        ).scalar()
        if n:
            problems.append(
                Problem(f"{schema}.{table}.{c.name}", f"type {c.type_original}: {n} value(s) "
                        "whose parts have different signs (no xs:duration holds them)")
            )  # fmt: skip


def _keys(refl: _Reflection, name: str, schema: str) -> dict[str, Any]:
    pk = refl.ask("pk_constraint", name)
    primary = (
        KeySpec(pk.get("name") or f"pk_{name}", tuple(pk["constrained_columns"]))
        if pk and pk.get("constrained_columns")
        else None
    )
    uniques = [
        KeySpec(
            u.get("name") or f"uq_{name}_{'_'.join(u['column_names'])}", tuple(u["column_names"])
        )
        for u in refl.ask("unique_constraints", name)
    ]
    for ix in refl.ask("indexes", name):
        if ix.get("unique") and ix["column_names"] and all(ix["column_names"]):
            key = KeySpec(ix.get("name") or f"ux_{name}", tuple(ix["column_names"]))  # type: ignore[arg-type]
            if all(k.columns != key.columns for k in uniques) and (
                not primary or primary.columns != key.columns
            ):
                uniques.append(key)
    fks = []
    for j, fk in enumerate(refl.ask("foreign_keys", name)):
        opts = fk.get("options") or {}
        fks.append(
            ForeignKeySpec(
                name=fk.get("name") or f"fk_{name}_{j}",
                columns=tuple(fk["constrained_columns"]),
                referenced_schema=fk.get("referred_schema") or schema,
                referenced_table=fk["referred_table"],
                referenced_columns=tuple(fk["referred_columns"]),
                delete_action=(opts.get("ondelete") or "").upper() or None,
                update_action=(opts.get("onupdate") or "").upper() or None,
            )
        )
    try:
        checks = [
            CheckSpec(c.get("name") or f"ck_{name}_{i}", str(c["sqltext"]))
            for i, c in enumerate(refl.ask("check_constraints", name))
        ]
    except NotImplementedError:
        checks = []
    return {
        "primary_key": primary,
        "candidate_keys": tuple(sorted(uniques, key=lambda k: k.name)),
        "foreign_keys": tuple(sorted(fks, key=lambda f: f.name)),
        "check_constraints": tuple(sorted(checks, key=lambda c: c.name)),
    }


def _comment(refl: _Reflection, name: str) -> str:
    try:
        found = refl.ask("table_comment", name).get("text")
    except NotImplementedError:
        return ""
    return found if found and found != "VIEW" else ""


def read_catalogue(
    conn: Connection, exclusions: ExclusionList, schemas: list[str] | None = None
) -> Catalogue:
    """The catalogue of the source at ``conn`` (inside the archive's snapshot). Raises
    :class:`ValidationFailed` (bad input, exit 2) naming every column the archive cannot hold
    and every exclusion that names nothing in the source."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa_exc.SAWarning)  # unknown types: judged by map_type
        return _read_catalogue(conn, exclusions, schemas)


def _read_catalogue(
    conn: Connection, exclusions: ExclusionList, schemas: list[str] | None
) -> Catalogue:
    names, not_selected = _schema_names(conn, schemas)
    insp = inspect(conn)
    problems: list[Problem] = []
    excluded: list[Exclusion] = []
    out: list[SchemaSpec] = []
    row_counts: dict[str, int] = {}
    for schema in names:
        skip = exclusions.find(schema)
        if skip is not None:
            excluded.append(skip)
            continue
        folder = f"schema{len(out)}"
        schema_arg = schema  # named in every query, the default schema too
        facts = type_facts(conn, schema)
        spec = SchemaSpec(schema, folder, schema_comment(conn, schema))
        tables = sorted(insp.get_table_names(schema=schema_arg))
        views = sorted(insp.get_view_names(schema=schema_arg))
        if conn.dialect.name == "postgresql":
            views = sorted([*views, *insp.get_materialized_view_names(schema=schema_arg)])
        # the rows are counted by a psql of their own while the tables are reflected here
        counting = _counts_in_background(
            conn, [_quote(conn, schema_arg, n) for n in tables if not exclusions.find(schema, n)]
        )
        try:
            refl = _Reflection(conn, schema_arg, [*tables, *views])
            for name in tables:
                cols = _kept_columns(
                    refl, conn, schema, schema_arg, name, facts, problems, exclusions, excluded
                )
                if cols is None:
                    continue
                cols = _array_cardinalities(conn, schema, name, schema_arg, cols, problems)
                _mixed_sign_intervals(conn, schema, name, schema_arg, cols, problems)
                spec.tables.append(
                    TableSpec(
                        schema=schema, name=name, folder=f"table{len(spec.tables)}",
                        columns=tuple(cols), schema_folder=folder,
                        description=_comment(refl, name),
                        **_keys(refl, name, schema),
                    )
                )  # fmt: skip
        except BaseException:
            if counting is not None:
                counting.cancel()
            raise
        counted = counting.result() if counting is not None else None
        found: list[int | None] = [*counted] if counted else [None] * len(spec.tables)
        for table, count in zip(spec.tables, found, strict=True):
            if count is None:  # no psql: counted on this connection, one after the other
                query = f"SELECT count(*) FROM {_quote(conn, schema_arg, table.name)}"
                count = int(conn.execute(text(query)).scalar() or 0)
            row_counts[table.key] = count
        for name in views:
            cols = _kept_columns(
                refl, conn, schema, schema_arg, name, facts, problems, exclusions, excluded
            )
            if cols is None:
                continue
            try:
                query = str(insp.get_view_definition(name, schema=schema_arg) or "")
            except NotImplementedError:
                query = ""
            spec.views.append(
                ViewSpec(schema, name, query.strip(), _comment(refl, name), tuple(cols))
            )
        for routine in schema_routines(conn, schema):
            skip = exclusions.find(schema, routine.name) or exclusions.find(
                schema, routine.specific_name
            )
            if skip is not None:
                excluded.append(skip)
            else:
                spec.routines.append(routine)
        spec.types = named_types(conn, schema)
        spec.sequences = sequence_names(conn, schema_arg)
        out.append(spec)
    named = {e.object for e in excluded}
    for e in exclusions.exclusions:
        if e.object not in named:
            problems.append(
                Problem(e.object, "the exclusion list names it, but the source has no such object")
            )
    if problems:
        raise ValidationFailed(
            "source database: the archive cannot hold these (nothing was written)", problems
        )
    users, privileges = granted_privileges(conn, [s.name for s in out])
    return Catalogue(
        out, users, privileges, row_counts, excluded,
        not_selected if schemas else [],
    )  # fmt: skip
