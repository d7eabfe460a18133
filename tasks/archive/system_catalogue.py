"""What each database system's own catalogue says beyond SQLAlchemy's reflection: the types
of columns as the database names them (PostgreSQL ``pg_type``, MariaDB/MySQL
``information_schema.COLUMNS``, SQLite's declared types), schema comments, routines, enums and
domains, sequences, and the users and privileges on the archived objects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, inspect, text

from tasks.archive.typemap import PgTypeFacts, Unrepresentable, map_type


@dataclass(frozen=True)
class RoutineSpec:
    schema: str
    specific_name: str
    name: str
    description: str
    language: str
    body: str
    return_type: str


@dataclass(frozen=True)
class TypeSpec:
    """An enum or domain: SIARD ``distinct`` type over its base, values in the description."""

    schema: str
    name: str
    base: str
    description: str


@dataclass(frozen=True)
class PrivilegeSpec:
    type: str
    object: str
    grantor: str
    grantee: str
    grantable: bool


def pg_type_facts(conn: Connection, schema: str) -> dict[tuple[str, str], PgTypeFacts]:
    rows = conn.execute(
        text(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), t.typtype, "
            "tn.nspname, coalesce(et.typtype, ''), coalesce(etn.nspname, '') "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace "
            "LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A' "
            "LEFT JOIN pg_namespace etn ON etn.oid = et.typnamespace "
            "WHERE n.nspname = :s AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        {"s": schema},
    )
    return {(r[0], r[1]): PgTypeFacts(r[2], r[3], r[4], r[5], r[6]) for r in rows}


def type_facts(conn: Connection, schema: str) -> dict[tuple[str, str], PgTypeFacts]:
    """Each column's type as the database's own catalogue names it (PostgreSQL, MariaDB)."""
    if conn.dialect.name == "postgresql":
        return pg_type_facts(conn, schema)
    if conn.dialect.name in ("mysql", "mariadb"):
        rows = conn.execute(
            text(
                "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = :s"
            ),
            {"s": schema},
        )
        return {(r[0], r[1]): PgTypeFacts(str(r[2]), "", "mysql") for r in rows}
    if conn.dialect.name == "sqlite":
        q = conn.dialect.identifier_preparer.quote
        out: dict[tuple[str, str], PgTypeFacts] = {}
        names = conn.exec_driver_sql(
            f"SELECT name FROM {q(schema)}.sqlite_master WHERE type IN ('table', 'view')"
        ).scalars()
        for rel in list(names):
            for r in conn.exec_driver_sql(f"PRAGMA {q(schema)}.table_info({q(rel)})"):
                out[(rel, r[1])] = PgTypeFacts(str(r[2] or ""), "", "sqlite")
        return out
    return {}


def schema_comment(conn: Connection, schema: str) -> str:
    if conn.dialect.name != "postgresql":
        return ""
    found = conn.execute(
        text("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = :s"),
        {"s": schema},
    ).scalar()
    return found or ""


def schema_routines(conn: Connection, schema: str) -> list[RoutineSpec]:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        rows = conn.execute(
            text(
                "SELECT p.proname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) "
                "|| ')', coalesce(obj_description(p.oid, 'pg_proc'), ''), l.lanname, "
                "CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE '' END, "
                "coalesce(pg_get_function_result(p.oid), '') "
                "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "JOIN pg_language l ON l.oid = p.prolang WHERE n.nspname = :s AND NOT EXISTS "
                "(SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass "
                "AND d.objid = p.oid AND d.deptype = 'e') ORDER BY 2"
            ),
            {"s": schema},
        )
        return [RoutineSpec(schema, r[1], r[0], r[2], r[3], r[4], r[5]) for r in rows]
    if dialect in ("mysql", "mariadb"):
        rows = conn.execute(
            text(
                "SELECT ROUTINE_NAME, SPECIFIC_NAME, ROUTINE_COMMENT, ROUTINE_TYPE, "
                "coalesce(ROUTINE_DEFINITION, ''), coalesce(DTD_IDENTIFIER, '') "
                "FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = :s ORDER BY 2"
            ),
            {"s": schema},
        )
        return [
            RoutineSpec(schema, r[1], r[0], r[2] or "", f"SQL {r[3]}", r[4], r[5]) for r in rows
        ]
    return []


def named_types(conn: Connection, schema: str) -> list[TypeSpec]:
    if conn.dialect.name != "postgresql":
        return []
    insp = inspect(conn)
    out = []
    for e in insp.get_enums(schema=schema):  # type: ignore[attr-defined]
        longest = max((len(v) for v in e["labels"]), default=1)
        values = ", ".join(e["labels"])
        out.append(TypeSpec(schema, e["name"], f"VARCHAR({max(longest, 1)})",
                            f"enum; values in order: {values}"))  # fmt: skip
    shown: dict[str, str] = dict(
        conn.execute(
            text(
                "SELECT t.typname, format_type(t.typbasetype, t.typtypmod) FROM pg_type t "
                "JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE t.typtype = 'd' AND n.nspname = :s"
            ),
            {"s": schema},
        ).all()
    )
    for d in insp.get_domains(schema=schema):  # type: ignore[attr-defined]
        checks = "; ".join(c["check"] for c in d.get("constraints") or [])
        over = shown.get(d["name"], d["type"])
        desc = f"domain over {over}" + (f"; check: {checks}" if checks else "")
        base = domain_base(conn, over)
        desc += "" if d.get("nullable", True) else "; NOT NULL"
        out.append(TypeSpec(schema, d["name"], base, desc))
    return sorted(out, key=lambda t: t.name)


def domain_base(conn: Connection, shown: str) -> str:
    """The SIARD type of a domain's base type, named as ``format_type`` names it."""
    m = re.fullmatch(r"(character varying|character|numeric)\((\d+)(?:,(\d+))?\)", shown)
    if m:
        kind, n, scale = m.groups()
        if kind == "numeric":
            return f"DECIMAL({n}, {scale or 0})"
        return f"{'VARCHAR' if kind == 'character varying' else 'CHAR'}({n})"
    base_cls = conn.dialect.ischema_names.get(shown.split("(")[0])  # type: ignore[attr-defined]
    try:
        return map_type(base_cls(), "postgresql").sql if base_cls else "CLOB"
    except (Unrepresentable, TypeError):
        return "CLOB"


def sequence_names(conn: Connection, schema_arg: str | None) -> list[str]:
    try:
        return sorted(inspect(conn).get_sequence_names(schema=schema_arg))
    except NotImplementedError:
        return []


def granted_privileges(
    conn: Connection, schemas: list[str]
) -> tuple[list[str], list[PrivilegeSpec]]:
    """Users that own or hold rights on the archived objects, and the granted rights (an
    owner's own rights on its objects are implied and not listed)."""
    dialect = conn.dialect.name
    privs: list[PrivilegeSpec] = []
    users: set[str] = set()
    if dialect == "postgresql":
        rows = conn.execute(
            text(
                "SELECT privilege_type, table_schema, table_name, grantor, grantee, is_grantable "
                "FROM information_schema.table_privileges WHERE table_schema = ANY(:s) "
                "AND grantor <> grantee ORDER BY 2, 3, 5, 1"
            ),
            {"s": schemas},
        )
        for r in rows:
            privs.append(PrivilegeSpec(r[0], f'TABLE "{r[1]}"."{r[2]}"', r[3], r[4], r[5] == "YES"))
        owners = conn.execute(
            text(
                "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = ANY(:s) AND c.relkind IN "
                "('r', 'p', 'v', 'm')"
            ),
            {"s": schemas},
        )
        users.update(r[0] for r in owners)
    elif dialect in ("mysql", "mariadb"):
        rows = conn.execute(
            text(
                "SELECT PRIVILEGE_TYPE, TABLE_SCHEMA, TABLE_NAME, GRANTEE, IS_GRANTABLE "
                "FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA IN :s "
                "UNION ALL SELECT PRIVILEGE_TYPE, TABLE_SCHEMA, NULL, GRANTEE, IS_GRANTABLE "
                "FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA IN :s "
                "ORDER BY 2, 3, 4, 1"
            ).bindparams(_expanding("s")),
            {"s": schemas},
        )
        for r in rows:
            obj = f"TABLE `{r[1]}`.`{r[2]}`" if r[2] else f"SCHEMA `{r[1]}`"
            privs.append(PrivilegeSpec(r[0], obj, "(not recorded by MariaDB)", r[3], r[4] == "YES"))
    users.update(p.grantee for p in privs if p.grantee != "PUBLIC")
    users.update(p.grantor for p in privs if dialect == "postgresql")
    return sorted(users), privs


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)
