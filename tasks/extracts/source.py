"""Where records come from: SAMSA's live database or the archive package made at shutdown.

Both sources answer the same two questions — which tables with which columns, and the rows of
one table in a stable order — so the extracts are made the same way before and after SAMSA is
switched off.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from models.errors import InputError


@dataclass(frozen=True)
class TableSpec:
    """One table: its name, column names (in order) and value kinds (text, int, float, bool,
    date, datetime, decimal, bytes, or any: look at each value)."""

    name: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...] = field(default=())

    def index(self, column: str) -> int | None:
        try:
            return self.columns.index(column)
        except ValueError:
            return None


class RecordSource(Protocol):
    """What the extracts need from a source of SAMSA's records."""

    label: str  # "live" or "archive"

    def tables(self) -> list[TableSpec]: ...

    def rows(self, table: str) -> Iterator[tuple[Any, ...]]: ...

    def close(self) -> None: ...


def json_value(value: Any) -> Any:
    """A value as it appears in the JSON files: timestamps ISO 8601 in UTC ending in Z, dates
    ISO 8601, decimals as text (no rounding), bytes as base64."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dt.datetime):
        # SAMSA stores UTC; SQLite hands back naive values, PostgreSQL aware ones: both say Z
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _kind_of_sqla(type_: Any) -> str:
    from sqlalchemy import types as t

    checks: list[tuple[type, str]] = [
        (t.Boolean, "bool"),
        (t.DateTime, "datetime"),
        (t.Date, "date"),
        (t.Integer, "int"),
        (t.Float, "float"),
        (t.Numeric, "decimal"),
        (t.LargeBinary, "bytes"),
        (t.String, "text"),
    ]
    for cls, kind in checks:
        if isinstance(type_, cls):
            return kind
    return "any"


class LiveSource:
    """SAMSA's database, read by SQLAlchemy (tables reflected, rows streamed in key order)."""

    label = "live"

    def __init__(self, url: str) -> None:
        from sqlalchemy import MetaData, create_engine
        from sqlalchemy.exc import SQLAlchemyError

        # hide_parameters: a failing query must never show an identity in its message
        self.engine = create_engine(url, hide_parameters=True)
        self.metadata = MetaData()
        try:
            self.metadata.reflect(self.engine)
        except SQLAlchemyError as exc:
            raise InputError(f"SAMSA database cannot be read: {type(exc).__name__}") from None
        if "organisation" not in self.metadata.tables:
            raise InputError("SAMSA database has no table 'organisation': is it the right URL?")

    def tables(self) -> list[TableSpec]:
        out = []
        for name in sorted(self.metadata.tables):
            t = self.metadata.tables[name]
            cols = tuple(c.name for c in t.columns)
            out.append(TableSpec(name, cols, tuple(_kind_of_sqla(c.type) for c in t.columns)))
        return out

    def rows(self, table: str) -> Iterator[tuple[Any, ...]]:
        from sqlalchemy import select

        t = self.metadata.tables[table]
        order = list(t.primary_key.columns) or list(t.columns)[:1]
        q = select(t).order_by(*order)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=20_000).execute(q)
            for row in result:
                yield tuple(row)

    def rows_where(self, table: str, column: str, values: list[Any]) -> Iterator[tuple[Any, ...]]:
        """Rows whose ``column`` is one of ``values`` (indexed look-ups for one person)."""
        from sqlalchemy import select

        if not values:
            return
        t = self.metadata.tables[table]
        order = list(t.primary_key.columns) or list(t.columns)[:1]
        q = select(t).where(t.c[column].in_(values)).order_by(*order)
        with self.engine.connect() as conn:
            for row in conn.execute(q):
                yield tuple(row)

    def close(self) -> None:
        self.engine.dispose()


def find_siard(package: Path) -> Path:
    """The .siard file of an archive package (the file itself, or the one inside a folder)."""
    if not package.exists():
        raise InputError(f"archive package not found: {package}")
    if package.is_file():
        if package.suffix.lower() != ".siard":
            raise InputError(f"{package}: not a .siard file nor an archive package folder")
        return package
    found = sorted(package.rglob("*.siard"))
    if not found:
        raise InputError(f"{package}: no .siard file in this archive package")
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(package)) for p in found)
        raise InputError(f"{package}: more than one .siard file ({names})")
    return found[0]


class ArchiveSource:
    """The archive package (SIARD) made by the archiving flow, read by its own reader."""

    label = "archive"

    def __init__(self, package: Path) -> None:
        from tasks.archive.reader import open_siard

        self.package = package
        self.siard_path = find_siard(package)
        self.reader = open_siard(self.siard_path)
        self._specs = {s.name: s for s in self._read_specs()}
        if "organisation" not in self._specs:
            raise InputError(f"{self.siard_path}: no table 'organisation' in the archive")

    def _read_specs(self) -> list[TableSpec]:
        specs = []
        for t in self.reader.tables():
            specs.append(_spec_from_reader(self.reader, t))
        return specs

    def tables(self) -> list[TableSpec]:
        return [self._specs[n] for n in sorted(self._specs)]

    def rows(self, table: str) -> Iterator[tuple[Any, ...]]:
        cols = self._specs[table].columns
        for row in self.reader.rows(table):
            if isinstance(row, dict):
                yield tuple(row.get(c) for c in cols)
            else:
                yield tuple(row)

    def close(self) -> None:
        close = getattr(self.reader, "close", None)
        if close:
            close()


def _spec_from_reader(reader: Any, table: Any) -> TableSpec:
    """A TableSpec from whatever the archive reader says about a table."""
    name = table if isinstance(table, str) else table.name
    columns = getattr(table, "columns", None)
    if columns is None and hasattr(reader, "columns"):
        columns = reader.columns(name)
    if columns is None:
        raise InputError(f"archive reader gives no columns for table {name}")
    names = tuple(c if isinstance(c, str) else c.name for c in columns)
    kinds = tuple(_ARCHIVE_KINDS.get(str(getattr(c, "kind", "")), "any") for c in columns)
    return TableSpec(name, names, kinds)


#: The archive reader's value kinds (tasks.archive.types.Kind) as the extracts' kinds.
_ARCHIVE_KINDS = {
    "integer": "int", "string": "text", "clob": "text", "real": "float", "double": "float",
    "boolean": "bool", "date": "date", "timestamp": "datetime", "decimal": "decimal",
    "binary": "bytes", "blob": "bytes",
}  # fmt: skip


def open_source(source_url: str | None, archive: Path | None) -> RecordSource:
    """The live database (``source_url``) or the archive package (``archive``); exactly one."""
    if bool(source_url) == bool(archive):
        raise InputError("give exactly one of --source URL and --archive PACKAGE")
    if archive is not None:
        return ArchiveSource(Path(archive))
    assert source_url is not None
    return LiveSource(source_url)
