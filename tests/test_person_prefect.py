"""Personal data never enters Prefect: run the extract flows under the test harness, then scan
everything the Prefect server stored (its database, logs, artifacts, run parameters, results)
for the identities used and for anything shaped like a valid identity."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sqlite3
from pathlib import Path

import pytest

from deploy.cli import main
from flows.wiring import PACKAGE_EXTRAS
from models import clock
from models.identity import is_valid_identity
from models.settings import get_settings
from tasks.synthetic import generate

pytestmark = pytest.mark.prefect

#: 12 digits or YYYYMMDD-NNNC, not part of a longer token (UUIDs, hashes).
_CANDIDATE = re.compile(rb"(?<![0-9A-Za-z])(\d{8})-?(\d{4}|[KMX]\d{3})(?![0-9A-Za-z]|-[0-9a-f])")


def _identities(db: Path, n: int) -> list[str]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "select identity from person where protected_identity = 0 order by id limit ?", (n,)
    ).fetchall()
    protected = con.execute(
        "select identity from person where protected_identity = 1 limit 1"
    ).fetchall()
    con.close()
    return [r[0] for r in rows + protected]


def _stored_by_prefect() -> dict[str, bytes]:
    """Everything Prefect keeps: its database files (raw and dumped), files under PREFECT_HOME
    and result storage, and what the API hands back for runs, logs and artifacts."""
    import prefect.settings as ps
    from prefect.client.orchestration import get_client

    blobs: dict[str, bytes] = {}
    url = ps.PREFECT_SERVER_DATABASE_CONNECTION_URL.value() or ""
    db = Path(url.split("///", 1)[1]) if "///" in url else None
    roots = [Path(os.environ["PREFECT_HOME"]), Path(os.environ["PREFECT_LOCAL_STORAGE_PATH"])]
    files = [p for r in roots if r.exists() for p in r.rglob("*") if p.is_file()]
    if db is not None:
        files += [p for p in db.parent.glob(db.name + "*") if p.is_file()]
        con = sqlite3.connect(db)
        blobs["db-dump"] = "\n".join(con.iterdump()).encode("utf-8")
        con.close()
    for f in files:
        blobs[str(f)] = f.read_bytes()

    async def api() -> bytes:
        async with get_client() as client:
            runs = await client.read_flow_runs()
            tasks = await client.read_task_runs()
            logs = await client.read_logs()
            artifacts = await client.read_artifacts()
            parts = [r.model_dump_json() for r in [*runs, *tasks, *logs, *artifacts]]
            return "\n".join(parts).encode("utf-8")

    blobs["api"] = asyncio.run(api())
    assert db is not None and blobs["db-dump"], "the harness database was not found"
    return blobs


def test_no_personnummer_in_anything_prefect_stored(
    prefect_harness: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:

    from flows.actions import ActionContext
    from flows.extracts import deliver_register_extracts, extract_person_register
    from flows.wiring import resolve_action
    from tasks.archive.run import archive_database

    settings = get_settings()
    db_path = Path(settings.resolved_source_url().removeprefix("sqlite:///"))
    db_path.parent.mkdir(parents=True, exist_ok=True)
    generate(settings.resolved_source_url(), scale=1500, seed=21)
    identities = _identities(db_path, 3)
    request_ids = []
    for identity in identities:
        monkeypatch.setattr("sys.stdin", io.StringIO(identity + "\n"))
        assert main(["extract", "request", "--file", "-", "--by", "Test"]) == 0
        request_ids.append(capsys.readouterr().out.split()[0])

    for rid in request_ids:
        result = extract_person_register(rid)
        assert result["found"] is True
    summary = deliver_register_extracts(deliver=False)
    assert summary["bags"] > 100
    with pytest.raises(Exception, match="no extract request"):
        extract_person_register("00000000-0000-4000-8000-000000000000")

    # after shutdown: the routine's action answers from the archive package
    archive_database(
        settings.resolved_source_url(), settings.resolved_archive_dir(), extras=PACKAGE_EXTRAS
    )
    monkeypatch.setenv("SAMSA_DECOM_EXTRACT_PERSON_SOURCE", "archive")
    get_settings.cache_clear()
    ctx = ActionContext("register-extract-routine-moved", clock.today(), False,
                        settings.resolved_ledger_url())  # fmt: skip
    action = resolve_action("person-extracts")
    assert action is not None
    waiting = action(ctx)  # no open request yet, none answered from the archive
    assert waiting.waiting and not waiting.done
    monkeypatch.setattr("sys.stdin", io.StringIO(identities[-1] + "\n"))
    assert main(["extract", "request", "--file", "-"]) == 0
    request_ids.append(capsys.readouterr().out.split()[0])
    done = action(ctx)
    assert done.done and done.details["answered"] == [request_ids[-1]]

    stored = _stored_by_prefect()
    assert any(rid.encode() in b for b in stored.values() for rid in request_ids)  # scan works
    for where, blob in stored.items():
        for identity in identities:
            for form in (identity, f"{identity[:8]}-{identity[8:]}"):
                assert form.encode() not in blob, f"an identity was stored by Prefect in {where}"
        for m in _CANDIDATE.finditer(blob):
            text = (m.group(1) + m.group(2)).decode()
            assert not is_valid_identity(text), f"identity-shaped value {text[:8]}-**** in {where}"
    # …and the answers exist outside Prefect, named by request id only
    answers = list((settings.resolved_extracts_dir() / "requests").rglob("*.pdf"))
    assert len(answers) == len(request_ids)
