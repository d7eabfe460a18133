"""Shared helpers of the archive tests: build a small synthetic database and archive it once."""

from __future__ import annotations

import filecmp
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from models.source import TABLE_ORDER, SourceBase

ARCHIVAL_DATE = date(2027, 3, 1)


def source_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    """Rows as SQLAlchemy reads them, in primary-key order; naive datetimes taken as UTC."""
    eng = create_engine(url)
    t = SourceBase.metadata.tables[table]
    with eng.connect() as c:
        rows = c.execute(select(t).order_by(*t.primary_key)).all()
    eng.dispose()
    return [tuple(_norm(v) for v in r) for r in rows]


def _norm(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two folders (content or presence)."""
    fa = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    diff = sorted(fa ^ fb)
    for rel in sorted(fa & fb):
        if not filecmp.cmp(a / rel, b / rel, shallow=False):
            diff.append(rel)
    return diff


__all__ = ["ARCHIVAL_DATE", "TABLE_ORDER", "same_tree", "source_rows"]


def make_pg_database(admin_url: str) -> tuple[str, Any]:
    """A fresh PostgreSQL database (URL, dropper) for fixtures wider than one test."""
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"samsa_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop
