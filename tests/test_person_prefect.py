"""Personal data never enters Prefect: run every kind of flow under the test harness, then scan
everything the Prefect server stored since the test began (its database, logs, artifacts, run
parameters and inputs, results) for the identities, names and addresses used and for anything
shaped like a valid identity."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from prefect_scan import Since

from deploy.cli import main
from models.identity import is_valid_identity
from models.ledger import Ledger
from models.settings import get_settings
from tasks.extracts.case import start_review
from tasks.synthetic import generate

pytestmark = pytest.mark.prefect

DATA = Path(__file__).parent / "data"

#: 12 digits or YYYYMMDD-NNNC, not part of a longer token (UUIDs, hashes).
_CANDIDATE = re.compile(rb"(?<![0-9A-Za-z])(\d{8})-?(\d{4}|[KMX]\d{3})(?![0-9A-Za-z]|-[0-9a-f])")
#: Prefect's ids. A UUID's last group is 12 hex digits; about one in 280 random ones is all
#: decimal, and one in ten of those passes the check digit as a 12-digit number (a birth year
#: like 9647 is a date): CI once failed on a flow run's id in ``event_resources``. So the
#: scan reads a blob with its whole UUIDs taken out; an identity is never one of them.
_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _names_and_addresses(db: Path, identities: list[str]) -> list[str]:
    """The persons' names and street addresses, as the source holds them."""
    con = sqlite3.connect(db)
    marks = ",".join("?" * len(identities))
    rows = con.execute(f"select name, street_address from person where identity in ({marks})",
                       identities).fetchall()  # fmt: skip
    con.close()
    found = [v for row in rows for v in row if v]
    assert len(found) >= len(identities)
    return found


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


def _api(since: Since) -> bytes:
    """What Prefect's API hands back for the runs, logs and artifacts made since ``since``."""
    from prefect.client.orchestration import get_client

    async def read() -> bytes:
        async with get_client() as client:
            runs = await client.read_flow_runs()
            tasks = await client.read_task_runs()
            logs = await client.read_logs()
            artifacts = await client.read_artifacts()
            parts = [r.model_dump_json() for r in [*runs, *tasks, *logs, *artifacts]
                     if getattr(r, "created", None) is None
                     or r.created.replace(tzinfo=None) >= since.at]  # fmt: skip
            return "\n".join(parts).encode("utf-8")

    return asyncio.run(read())


_PLAN = """\
title: Arkivering och registerutdrag (testplan)
milestones:
  - {id: arkivera, title: Arkivera databasen, owner: Arkivarie, workstream: archive,
     due: 2026-03-01, action: archive}
  - {id: registerutdrag, title: Registerutdrag ur arkivet, owner: Arkivarie,
     workstream: extracts, due: 2026-03-01, depends_on: [arkivera], action: person-extracts}
  - {id: informera, title: Informera kommunerna, owner: Kommunikatör, workstream: routines,
     due: 2026-03-20}
"""


def test_no_personnummer_in_anything_prefect_stored(
    prefect_harness: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Every kind of flow (extracts, the reconciler archiving and answering from the archive,
    notices, integrations) runs; then what Prefect stored since the test began holds none of
    the persons' identities, names or addresses, and nothing shaped like a valid identity."""
    from notify_receivers import HttpReceiver

    from flows.extracts import deliver_register_extracts, extract_person_register
    from flows.integrations import shutdown_integrations
    from flows.milestones import notify_milestones
    from flows.phaseout import reconcile_phaseout

    since = Since()
    settings = get_settings()
    db_path = Path(settings.resolved_source_url().removeprefix("sqlite:///"))
    db_path.parent.mkdir(parents=True, exist_ok=True)
    generate(settings.resolved_source_url(), scale=1500, seed=21)
    identities = _identities(db_path, 3)
    personal = _names_and_addresses(db_path, identities)
    request_ids = []
    for identity in identities:
        monkeypatch.setattr("sys.stdin", io.StringIO(identity + "\n"))
        assert main(["extract", "request", "--file", "-", "--by", "Test"]) == 0
        request_ids.append(capsys.readouterr().out.split()[0])

    for rid in request_ids:
        result = extract_person_register(rid)
        assert result["found"] is True and result["step"] == "review"
    summary = deliver_register_extracts(deliver=False)
    assert summary["bags"] > 100
    with pytest.raises(Exception, match="ingen begäran om registerutdrag"):
        extract_person_register("00000000-0000-4000-8000-000000000000")

    # the reconciler archives SAMSA, then its routine answers a request from the package
    plan = tmp_path / "plan.yaml"
    plan.write_text(_PLAN, encoding="utf-8")
    monkeypatch.setenv("SAMSA_DECOM_PLAN_PATH", str(plan))
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(DATA / "rollout-live.yaml"))
    monkeypatch.setenv("SAMSA_DECOM_EXTRACT_PERSON_SOURCE", "archive")
    get_settings.cache_clear()
    monkeypatch.setattr("sys.stdin", io.StringIO(identities[-1] + "\n"))
    assert main(["extract", "request", "--file", "-"]) == 0
    request_ids.append(capsys.readouterr().out.split()[0])
    # the case officer started the review and its release was approved: the routine releases
    with Ledger.open(settings.resolved_ledger_url()) as ledger:
        start_review(ledger, request_ids[-1], by="Kim Handläggare")
    assert main(["extract", "approve", request_ids[-1], "--approver", "Eva Beslutsfattare"]) == 0
    noon = datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    with time_machine.travel(noon, tick=True):  # a real run takes no as_of: the day is moved
        report = reconcile_phaseout()
    assert {"arkivera", "registerutdrag"} <= set(report["done"]), report

    # notices and integrations run too (a rehearsal touches no counterpart)
    receiver = HttpReceiver().start()
    try:
        monkeypatch.setenv("SAMSA_DECOM_APPRISE_URLS", json.dumps([receiver.url("/all")]))
        get_settings.cache_clear()
        notify_milestones(as_of=date(2026, 3, 18))
        assert receiver.posts, "no notice was sent"
    finally:
        receiver.stop()
    assert shutdown_integrations(rehearse=True, as_of=date(2026, 3, 18))

    stored = since.stored()
    stored["api"] = _api(since)
    stored["captured output"] = "".join(capsys.readouterr()).encode("utf-8")
    assert any(rid.encode() in b for b in stored.values() for rid in request_ids)  # scan works
    assert {"reconcile-phaseout", "archive-samsa-database", "notify-milestones",
            "shutdown-integrations", "extract-person-register"} <= since.flows_run()  # fmt: skip
    for where, blob in stored.items():
        for identity in identities:
            for form in (identity, f"{identity[:8]}-{identity[8:]}"):
                assert form.encode() not in blob, f"an identity was stored by Prefect in {where}"
        for i, text in enumerate(personal):
            assert text.encode() not in blob, f"person data #{i} was stored by Prefect in {where}"
        for m in _CANDIDATE.finditer(_UUID.sub(b"<uuid>", blob)):
            text = (m.group(1) + m.group(2)).decode()
            assert not is_valid_identity(text), f"identity-shaped value {text[:8]}-**** in {where}"
    # …and the review copies and the answer exist outside Prefect, named by request id only
    answers = list((settings.resolved_extracts_dir() / "requests").rglob("*.pdf"))
    assert len(answers) == len(request_ids)
    assert [p.parent.name for p in answers if p.name.startswith("registerutdrag-")] == [
        request_ids[-1]]  # fmt: skip
