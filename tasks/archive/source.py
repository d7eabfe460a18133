"""The source database of an archive run: opening it, and one consistent read of it.

:func:`open_source` and :func:`connect` turn a URL that cannot be used, a missing SQLite file
or a refused connection into bad input naming the source with its password hidden
(:func:`shown_url`). :func:`begin_snapshot` starts the consistent read the whole run works in
(REPEATABLE READ on PostgreSQL and MariaDB/MySQL, a read transaction on SQLite) and describes
it for the package; :func:`database_product` names the product and version for metadata.xml.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from models.errors import InputError


def shown_url(url: str) -> str:
    """The URL as it may be shown: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - unparsable URL: show nothing of it
        return "(unparsable URL)"


def open_source(url: str) -> Engine:
    """An engine for the source; bad input if the URL is unusable or names no SQLite file."""
    shown = shown_url(url)
    try:
        engine = create_engine(url)
    except Exception as exc:
        raise InputError(f"cannot use source URL {shown} ({type(exc).__name__})") from None
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        if not Path(database).is_file():
            raise InputError(f"source database {shown}: no such SQLite file")
    return engine


def connect(engine: Engine, url: str) -> Connection:
    """A connection to the source; bad input with the server's reason if it is refused."""
    try:
        return engine.connect()
    except OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        raise InputError(f"cannot connect to source database {shown_url(url)}: {reason}") from None


def begin_snapshot(conn: Connection) -> str:
    """Start a consistent read: REPEATABLE READ (read only) on PostgreSQL, a read transaction
    on SQLite. Returns a description for the record."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # intervals as ISO 8601 text (P1Y2M3DT4H5M6S): years and months kept, not made days
        conn.exec_driver_sql("SET LOCAL intervalstyle = 'iso_8601'")
        return "PostgreSQL REPEATABLE READ, read only"
    if dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        return f"{dialect} REPEATABLE READ consistent snapshot, read only (InnoDB)"
    if dialect == "sqlite":
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").all()  # takes the read lock
        return "SQLite read transaction"
    return f"{dialect}: default isolation (changes detected by re-digesting)"


def database_product(conn: Connection) -> str:
    """The source's product and version, e.g. ``PostgreSQL 16.4`` (the dialect if unknown)."""
    dialect = conn.dialect.name
    try:
        if dialect == "postgresql":
            v = conn.execute(text("SHOW server_version")).scalar()
            return f"PostgreSQL {str(v).split()[0]}"
        if dialect == "sqlite":
            return f"SQLite {conn.execute(text('select sqlite_version()')).scalar()}"
        if dialect in ("mysql", "mariadb"):
            v = str(conn.execute(text("SELECT VERSION()")).scalar())
            name = "MariaDB" if "mariadb" in v.lower() else "MySQL"
            return f"{name} {v.split('-')[0]}"
    except Exception:  # noqa: BLE001 - a label only
        pass
    return dialect
