"""The source database's password never reaches Prefect.

A PostgreSQL role with a password owns a small synthetic SAMSA database; samsa-decom is pointed
at it through SAMSA_DECOM_SOURCE_URL, password included, and the reconciler's archive action
runs the archive flow under Prefect's test harness. Then every text in Prefect's database
(every table, every column), every file under its home and result storage, and every log
record of the run is searched for the password.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models import clock
from models.errors import InputError
from models.settings import get_settings

pytestmark = pytest.mark.prefect

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def source_with_password(pg_server: str) -> Iterator[tuple[str, str]]:
    """(URL with password, password) of a new database owned by a new role; both dropped after."""
    role = f"samsa_secret_{uuid.uuid4().hex[:10]}"
    password = f"pw-{uuid.uuid4().hex}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        c.execute(text(f'CREATE DATABASE "{role}" OWNER {role}'))
    url = make_url(pg_server).set(username=role, password=password, database=role)
    try:
        yield url.render_as_string(hide_password=False), password
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)'))
            c.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def prefect_texts() -> dict[str, str]:
    """Every value in every table of the harness's database, and every file Prefect keeps,
    after Prefect's log and event workers have sent what they hold (they send in batches: a
    fast run ends before its log lines are stored)."""
    import prefect.settings as ps
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all()
    EventsWorker.drain_all()

    db = Path(str(ps.PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).split("///", 1)[1])
    texts: dict[str, str] = {}
    con = sqlite3.connect(db)
    for (table,) in con.execute("select name from sqlite_master where type = 'table'"):
        for n, row in enumerate(con.execute(f'select * from "{table}"')):
            texts[f"{table}[{n}]"] = " ".join(
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
            )
    con.close()
    roots = [Path(os.environ["PREFECT_HOME"]), Path(os.environ["PREFECT_LOCAL_STORAGE_PATH"])]
    for path in (p for r in roots if r.exists() for p in r.rglob("*") if p.is_file()):
        texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return texts


def test_the_source_password_stays_out_of_prefect(
    prefect_harness: None,
    source_with_password: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from flows.actions import ActionContext
    from flows.archive import archive_action, archive_samsa_database

    url, password = source_with_password
    made = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "demo-data", "--url", url, "--scale", "2000"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    monkeypatch.setenv("SAMSA_DECOM_SOURCE_URL", url)
    get_settings.cache_clear()
    prefect_logger = logging.getLogger("prefect")
    level = prefect_logger.level
    prefect_logger.setLevel(logging.DEBUG)  # every log line is written, to be searched
    try:
        with caplog.at_level(logging.DEBUG):
            ctx = ActionContext("samsa-db-archived", clock.today(), False,
                                get_settings().resolved_ledger_url())  # fmt: skip
            result = archive_action(ctx)
    finally:
        prefect_logger.setLevel(level)
    assert result.done, result.summary

    texts = prefect_texts()
    runs = [k for k, v in texts.items() if k.startswith("flow_run[") and "source_url" in v]
    logged = [k for k, v in texts.items() if k.startswith("log[") and "archiving" in v]
    assert runs and logged  # the search covers the run, its parameters and its log lines
    assert [where for where, value in texts.items() if password in value] == []
    printed = capfd.readouterr()
    assert password not in printed.out + printed.err + caplog.text

    with pytest.raises(InputError, match="source_url: a URL with a password") as refused:
        archive_samsa_database.fn(source_url=url)
    assert password not in str(refused.value)


def test_a_personnummer_given_as_request_id_is_refused_before_it_is_stored(
    prefect_harness: None,
) -> None:
    """The deployment's form and API take a UUID only: the server refuses anything else before
    it creates a run, so the number pasted by mistake is never written to Prefect's database."""
    import asyncio
    from datetime import date

    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError

    from flows.extracts import extract_person_register
    from models.identity import make_personnummer

    identity = make_personnummer(date(1961, 4, 12), 345)
    deployment_id = extract_person_register.to_deployment(name="request-id-check").apply()

    async def start(request_id: str) -> None:
        async with get_client() as client:
            await client.create_flow_run_from_deployment(
                deployment_id, parameters={"request_id": request_id}
            )

    for pasted in (identity, f"{identity[:8]}-{identity[8:]}"):
        with pytest.raises(PrefectHTTPStatusError, match="request_id"):
            asyncio.run(start(pasted))
    asyncio.run(start(str(uuid.uuid4())))  # a request id is taken
    stored = prefect_texts()
    assert any("request_id" in v for k, v in stored.items() if k.startswith("flow_run["))
    assert [where for where, value in stored.items() if identity[:8] in value] == []


def test_a_source_url_with_a_password_is_refused_before_it_is_stored(
    prefect_harness: None,
) -> None:
    """Run from the UI or API with a password in `source_url`: the server refuses the run."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError

    from flows.archive import archive_samsa_database
    from flows.extracts import deliver_register_extracts

    password = f"pw-{uuid.uuid4().hex}"
    with_password = f"postgresql+psycopg://samsa:{password}@db.example/samsa"
    for flow in (archive_samsa_database, deliver_register_extracts):
        deployment_id = flow.to_deployment(name="source-url-check").apply()

        async def start(source_url: str | None, deployment_id: uuid.UUID = deployment_id) -> None:
            async with get_client() as client:
                await client.create_flow_run_from_deployment(
                    deployment_id, parameters={"source_url": source_url}
                )

        with pytest.raises(PrefectHTTPStatusError, match="source_url"):
            asyncio.run(start(with_password))
        asyncio.run(start("postgresql+psycopg://samsa@db.example/samsa"))  # no password: taken
        asyncio.run(start(None))
    assert [where for where, value in prefect_texts().items() if password in value] == []
