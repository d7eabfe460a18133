"""Writing the synthetic SAMSA database: the schema, then rows by the fastest ordinary path.

``COPY`` on PostgreSQL, ``executemany`` in one transaction on SQLite (values in the storage form
SQLAlchemy's SQLite dialect reads back equal) and multi-row INSERTs on MariaDB/MySQL (timestamps
as naive UTC, text compared byte for byte as on PostgreSQL). :func:`prepare_schema` refuses to
touch a database whose SAMSA tables are not marked synthetic; :func:`row_writer` gives a
``write(table, rows)`` and a ``finish()`` for the URL's database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, inspect, text

from models.errors import InputError
from models.source import TABLE_ORDER, SourceBase

Write = Callable[[str, list[tuple[Any, ...]]], None]


def row_writer(engine: Engine) -> tuple[Write, Callable[[], None]]:
    """``write(table, rows)`` and ``finish()`` for the engine's database (after
    :func:`prepare_schema`, which refuses the databases there is no writer for)."""
    return _WRITERS[engine.dialect.name](engine)


def _columns() -> dict[str, list[str]]:
    return {t: [c.name for c in SourceBase.metadata.tables[t].columns] for t in TABLE_ORDER}


def _sqlite_value(v: Any) -> Any:
    """The storage form SQLAlchemy's SQLite dialect uses (so SQLAlchemy reads it back equal)."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def _writer_sqlite(
    engine: Engine,
) -> tuple[Write, Callable[[], None]]:
    raw = engine.raw_connection()
    dbapi = raw.driver_connection
    assert dbapi is not None
    dbapi.execute("PRAGMA synchronous=OFF")
    dbapi.execute("PRAGMA journal_mode=MEMORY")
    dbapi.execute("BEGIN")
    cols = _columns()

    def write(table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = cols[table]
        sql = f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({", ".join("?" * len(names))})'
        dbapi.executemany(sql, [tuple(_sqlite_value(v) for v in r) for r in rows])

    def finish() -> None:
        dbapi.execute("COMMIT")
        raw.close()

    return write, finish


def _writer_postgresql(
    engine: Engine,
) -> tuple[Write, Callable[[], None]]:
    raw = engine.raw_connection()
    conn = raw.driver_connection
    assert conn is not None
    cur = conn.cursor()
    cols = _columns()

    def write(table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in cols[table])
        with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for r in rows:
                copy.write_row(r)

    def finish() -> None:
        conn.commit()
        # settled as a long-lived database is: statistics, and every row already marked as
        # visible, so the first reader (an archive run, a benchmark's baseline) does not pay
        # for writing those marks into every page
        conn.autocommit = True
        cur.execute("VACUUM (FREEZE, ANALYZE) " + ", ".join(f'"{t}"' for t in cols))
        raw.close()

    return write, finish


def _mysql_value(v: Any) -> Any:
    """What PyMySQL should send: timestamps as naive UTC (the DATETIME(6) columns hold UTC)."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None)
    return v


def _writer_mysql(
    engine: Engine,
) -> tuple[Write, Callable[[], None]]:
    """MariaDB/MySQL: multi-row INSERTs (PyMySQL's executemany) in one transaction."""
    raw = engine.raw_connection()
    conn = raw.driver_connection
    assert conn is not None
    cur = conn.cursor()
    cur.execute("SET SESSION time_zone = '+00:00', foreign_key_checks = 0, unique_checks = 0")
    cols = _columns()

    def write(table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(f"`{c}`" for c in cols[table])
        marks = ", ".join(["%s"] * len(cols[table]))
        cur.executemany(
            f"INSERT INTO `{table}` ({names}) VALUES ({marks})",
            [tuple(_mysql_value(v) for v in r) for r in rows],
        )

    def finish() -> None:
        conn.commit()
        cur.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
        for table in TABLE_ORDER:
            cur.execute(f"ANALYZE TABLE `{table}`")
            cur.fetchall()
        raw.close()

    return write, finish


_WRITERS: dict[str, Callable[[Engine], tuple[Write, Callable[[], None]]]] = {
    "sqlite": _writer_sqlite, "postgresql": _writer_postgresql,
    "mysql": _writer_mysql, "mariadb": _writer_mysql,
}  # fmt: skip


def prepare_schema(engine: Engine, replace: bool) -> None:
    """Create the SAMSA source schema; with ``replace``, drop an earlier synthetic one first
    (never a database that ``dataset_info`` does not mark as synthetic); bad input for a
    database other than SQLite, PostgreSQL or MariaDB/MySQL."""
    dialect = engine.dialect.name
    if dialect not in _WRITERS:
        raise InputError(f"demo-data writes SQLite, PostgreSQL or MariaDB/MySQL, not {dialect}")
    existing = set(inspect(engine).get_table_names())
    ours = set(TABLE_ORDER)
    if existing & ours:
        if not replace:
            raise InputError(
                "the target database already has SAMSA tables "
                f"({', '.join(sorted(existing & ours))}); use --replace to regenerate a "
                "synthetic database"
            )
        if "dataset_info" not in existing:
            raise InputError("refusing to replace: the target has SAMSA tables but no dataset_info")
        with engine.connect() as c:
            flags = [bool(r[0]) for r in c.execute(text("SELECT synthetic FROM dataset_info"))]
        if not flags or not all(flags):
            raise InputError(
                "refusing to replace: dataset_info does not mark this database as synthetic"
            )
        SourceBase.metadata.drop_all(engine)
    if engine.dialect.name in ("mysql", "mariadb"):
        # text compares byte for byte, as on PostgreSQL (unique HSA-ids differing in case)
        with engine.begin() as c:
            c.exec_driver_sql("ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    SourceBase.metadata.create_all(engine)
