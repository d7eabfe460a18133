"""Which SIARD 2.2 type each source column type becomes, and how its values are read.

Every choice here is written down in ``docs/archive.md`` ("Types"). A type that SIARD cannot
hold raises :class:`Unrepresentable` with the reason; the inventory collects all of them and
names each column (``schema.table.column``) before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import types as sat
from sqlalchemy.dialects import postgresql as pg

from tasks.archive.types import Kind, sql_type_of

_INTERVAL_FIELDS = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"}
#: PostgreSQL network types: their longest text form
_NETWORK_LENGTH = {"INET": 43, "CIDR": 43, "MACADDR": 17, "MACADDR8": 23}


class Unrepresentable(Exception):
    """The column's type has no faithful SIARD 2.2 form; ``str(exc)`` is the reason."""


@dataclass(frozen=True)
class PgTypeFacts:
    """What PostgreSQL's catalogue says about a column's type (``pg_type``)."""

    shown: str  # format_type(): the type as the database names it
    typtype: str  # b base, c composite, d domain, e enum, p pseudo, r range, m multirange
    type_schema: str
    element_typtype: str = ""  # for arrays: the element type's typtype
    element_schema: str = ""


@dataclass(frozen=True)
class Mapped:
    """A column's SIARD form: value kind, SQL:2008 type, how it is read (see
    :class:`~tasks.archive.schema.ColumnSpec`), and whether it is an array."""

    kind: Kind
    sql: str
    read_as: str = ""
    array: bool = False


def _interval_sql(fields: str | None) -> str:
    """``INTERVAL`` with its qualifier; PostgreSQL's plain ``interval`` holds years to seconds."""
    if not fields:
        return "INTERVAL YEAR TO SECOND"
    words = fields.upper().split()
    if not all(w in _INTERVAL_FIELDS or w == "TO" or w.startswith("SECOND") for w in words):
        raise Unrepresentable(f"interval qualifier {fields!r} unknown")
    return "INTERVAL " + " ".join(w.split("(")[0] for w in words)


def map_type(t: sat.TypeEngine[Any], dialect: str, facts: PgTypeFacts | None = None) -> Mapped:
    """The SIARD form of a reflected column type (``facts`` from PostgreSQL's catalogue)."""
    if isinstance(t, pg.ARRAY):
        if dialect != "postgresql":
            raise Unrepresentable("array type outside PostgreSQL")
        item_facts = (
            PgTypeFacts(facts.shown.removesuffix("[]"), facts.element_typtype, facts.element_schema)
            if facts
            else None
        )
        if isinstance(t.item_type, pg.ARRAY):
            raise Unrepresentable("array of arrays")
        item = map_type(t.item_type, dialect, item_facts)
        read_as = "array:" + item.read_as if item.read_as else "array"
        return Mapped(item.kind, item.sql, read_as, True)
    if isinstance(t, pg.INTERVAL):
        return Mapped(Kind.interval, _interval_sql(t.fields), "interval")
    if isinstance(t, sat.Interval) and dialect == "postgresql":
        return Mapped(Kind.interval, "INTERVAL YEAR TO SECOND", "interval")
    if isinstance(t, pg.DOMAIN):
        base = map_type(t.data_type, dialect, None)
        return base
    if isinstance(t, sat.Enum):  # PostgreSQL named enums and MySQL/MariaDB ENUM columns
        longest = max((len(v) for v in t.enums), default=1)
        return Mapped(Kind.string, f"VARCHAR({max(longest, 1)})", "text")
    if isinstance(t, sat.Uuid):
        return Mapped(Kind.string, "CHAR(36)", "text")
    if isinstance(t, sat.JSON):
        return Mapped(Kind.clob, "CLOB", "text")
    name = type(t).__name__.upper()
    if name in _NETWORK_LENGTH:
        return Mapped(Kind.string, f"VARCHAR({_NETWORK_LENGTH[name]})", "text")
    if name == "MONEY":
        return Mapped(Kind.decimal, "DECIMAL(19, 2)", "numeric")
    if isinstance(t, pg.BIT):
        if t.varying:
            return Mapped(Kind.string, f"VARCHAR({t.length})" if t.length else "CLOB", "text")
        return Mapped(Kind.string, f"CHAR({t.length or 1})", "text")
    if name in ("TSVECTOR", "TSQUERY"):
        return Mapped(Kind.clob, "CLOB", "text")
    if isinstance(t, pg.AbstractRange | pg.AbstractMultiRange):
        return Mapped(Kind.clob, "CLOB", "text")
    if name in ("SET",):  # MySQL/MariaDB SET: its text form
        return Mapped(Kind.string, "VARCHAR(255)", "text")
    if name == "YEAR":  # MySQL/MariaDB YEAR
        return Mapped(Kind.integer, "SMALLINT")
    if name == "BIT" and dialect in ("mysql", "mariadb"):  # SQLAlchemy reads it as an integer
        return Mapped(Kind.integer, "BIGINT")
    if name in ("TIME",) and getattr(t, "timezone", False):
        return Mapped(Kind.time, "TIME WITH TIME ZONE")
    if isinstance(t, sat.NullType):
        return _unknown(facts)
    if dialect == "sqlite" and facts is not None and isinstance(t, sat.Numeric):
        declared = facts.shown.upper()
        if not any(k in declared for k in ("NUM", "DEC", "REAL", "FLOA", "DOUB")):
            return _sqlite_affinity(facts.shown)  # UUID, STRING …: SQLAlchemy guessed NUMERIC
    try:
        st = sql_type_of(t)
    except TypeError:
        return _unknown(facts, type(t).__name__)
    return Mapped(st.kind, st.sql)


def _unknown(facts: PgTypeFacts | None, label: str = "") -> Mapped:
    """A type SQLAlchemy does not know: PostgreSQL's own types as their text form (``xml`` as
    SIARD ``XML``); anything defined in the database itself cannot be interpreted later."""
    if facts is None:
        raise Unrepresentable(f"type {label or 'unknown'} has no SIARD mapping")
    if facts.type_schema == "sqlite":  # a declared type SQLAlchemy does not know: its affinity
        return _sqlite_affinity(facts.shown)
    if facts.type_schema == "mysql":  # MariaDB/MySQL types SQLAlchemy does not know
        if facts.shown in ("inet6", "inet4"):
            return Mapped(Kind.string, "VARCHAR(45)", "text")
        raise Unrepresentable("no SIARD mapping (geometry and other types without a SQL form)")
    if facts.type_schema == "pg_catalog":
        if facts.shown == "xml":
            return Mapped(Kind.clob, "XML", "text")
        return Mapped(Kind.clob, "CLOB", "text")
    reason = {
        "b": "a user-defined base type: its values' meaning lives in code outside the database",
        "c": "a composite type: this archiver writes no SIARD structured types",
        "r": "a user-defined range type",
        "m": "a user-defined multirange type",
        "p": "a pseudo-type",
        "d": "a domain over a type the archive cannot hold",
    }.get(facts.typtype, "a type the archive cannot hold")
    raise Unrepresentable(reason)


def _sqlite_affinity(declared: str) -> Mapped:
    """SQLite's own rule (datatype3.html, 3.1) for a declared type it does not know: INT →
    integer; CHAR, CLOB, TEXT → text; BLOB → binary; REAL, FLOA, DOUB → double; anything else
    (NUMERIC affinity, and no declared type: values of any storage class) → its text form."""
    t = declared.upper()
    if "INT" in t:
        return Mapped(Kind.integer, "BIGINT")
    if any(k in t for k in ("CHAR", "CLOB", "TEXT")):
        return Mapped(Kind.clob, "CLOB", "text")
    if "BLOB" in t:
        return Mapped(Kind.blob, "BLOB")
    if any(k in t for k in ("REAL", "FLOA", "DOUB")):
        return Mapped(Kind.double, "DOUBLE PRECISION")
    return Mapped(Kind.clob, "CLOB", "text")
