"""Shared fixtures: an isolated Prefect home, PostgreSQL databases made per test, the harness.

Prefect reads ``PREFECT_HOME`` when it is first imported, so it is set here, before any test
module imports Prefect.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_SESSION_TMP = Path(tempfile.mkdtemp(prefix="samsa-decom-tests-"))
os.environ["PREFECT_HOME"] = str(_SESSION_TMP / "prefect-home")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(_SESSION_TMP / "prefect-results")
os.environ.pop("PREFECT_API_URL", None)
os.environ["SAMSA_DECOM_HOME"] = str(_SESSION_TMP / "samsa-home")
#: The audit key every test ledger is chained with (kept outside the ledger, as in production).
TEST_AUDIT_KEY = "test-audit-key-0123456789abcdef0123456789abcdef"
os.environ["SAMSA_DECOM_AUDIT_KEY"] = TEST_AUDIT_KEY
#: Releases of registerutdrag need no one-time code in tests, except where a test sets the
#: approver's tag (tests/test_extract_case.py's code tests, with ``approver_inbox``).
os.environ["SAMSA_DECOM_EXTRACT_APPROVER_CHANNEL"] = ""

PG_ADMIN_URL = os.environ.get(
    "SAMSA_DECOM_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test gets its own SAMSA_DECOM_HOME and a fresh settings cache."""
    from models.settings import get_settings

    monkeypatch.setenv("SAMSA_DECOM_HOME", str(tmp_path / "samsa-home"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def _ledger_template() -> Path:
    """A SQLite ledger at the schema head, made once per session by the upgrade function."""
    from models.ledger import upgrade_ledger

    path = _SESSION_TMP / "ledger-template.sqlite"
    upgrade_ledger(f"sqlite:///{path}")
    return path


@pytest.fixture(autouse=True)
def _default_ledger(
    request: pytest.FixtureRequest, _fresh_settings: None, _ledger_template: Path
) -> None:
    """The configured ledger exists at the head, as after ``samsa-decom up`` (a copy of the
    template); tests marked ``no_ledger`` start without one."""
    import shutil

    from models.settings import get_settings

    if request.node.get_closest_marker("no_ledger"):
        return
    target = get_settings().home / "ledger.sqlite"
    get_settings.cache_clear()  # the test may still change the environment
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_ledger_template, target)


def _pg_available() -> bool:
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of the machine's PostgreSQL; fails in CI when it is not there."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A URL to a brand-new PostgreSQL database, dropped after the test."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"samsa_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


MARIADB_ADMIN_URL = os.environ.get(
    "SAMSA_DECOM_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4"
)


def _mariadb_available() -> bool:
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(MARIADB_ADMIN_URL)
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def mariadb_server() -> str:
    """The admin URL of the machine's MariaDB; fails in CI when it is installed (``.ci/run``
    starts it) but does not answer."""
    if not _mariadb_available():
        if os.environ.get("CI") and Path("/usr/sbin/mariadbd").exists():
            pytest.fail(f"MariaDB not reachable at {MARIADB_ADMIN_URL}")
        pytest.skip("MariaDB not reachable")
    return MARIADB_ADMIN_URL


@pytest.fixture
def mariadb_urls(mariadb_server: str) -> Iterator[tuple[str, list[str]]]:
    """Three brand-new MariaDB databases (MariaDB's schemas), dropped after the test: the URL
    of the first, and all three names."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    tag = uuid.uuid4().hex[:10]
    names = [f"samsa_test_{tag}", f"samsa_test_{tag}_vård", f"samsa test {tag} ärenden"]
    admin = create_engine(mariadb_server)
    with admin.connect() as c:
        for n in names:
            c.execute(text(f"CREATE DATABASE `{n}` CHARACTER SET utf8mb4"))
    try:
        url = make_url(mariadb_server).set(database=names[0])
        yield url.render_as_string(hide_password=False), names
    finally:
        with admin.connect() as c:
            for n in reversed(names):  # the foreign keys point at the first
                c.execute(text(f"DROP DATABASE IF EXISTS `{n}`"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Parametrised: a fresh SQLite file and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness (a temporary API on SQLite) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def approver_inbox(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - tests/approver_inbox.py
    """The approver's own channel (tag ``godkannare``) on loopback, and an untagged one."""
    from approver_inbox import start_inbox, stop_inbox

    inbox = start_inbox(monkeypatch)
    yield inbox
    stop_inbox(inbox)
