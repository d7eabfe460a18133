"""The flows under Prefect: the reconciler's "extracts" action waits until every organisation has
confirmed its receipt — by a receipt file or a person in the form — and a rehearsal delivers
nothing."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from ledgers import upgraded

from flows.actions import ActionContext
from flows.wiring import resolve_action
from models.ledger.extracts import DeliveryState
from models.settings import get_settings
from tasks.extracts.delivery import current_deliveries
from tasks.synthetic import generate

pytestmark = pytest.mark.prefect


def _ctx(rehearse: bool = False) -> ActionContext:
    return ActionContext(
        milestone_id="extracts-delivered", as_of=date.today(), rehearse=rehearse,
        ledger_url=get_settings().resolved_ledger_url(),
    )  # fmt: skip


def _resume_when_paused(answer: dict[str, object], deadline: float = 90) -> None:
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with get_client(sync_client=True) as client:
            paused = [r for r in client.read_flow_runs() if r.state and r.state.is_paused()]
        if paused:
            resume_flow_run(paused[0].id, run_input=answer)
            return
        time.sleep(0.5)
    raise AssertionError("the confirm-extract-receipt run never paused for its form")


def test_extracts_action_waits_for_every_receipt(prefect_harness: None) -> None:
    from flows.extracts import confirm_extract_receipt

    settings = get_settings()
    Path(settings.home).mkdir(parents=True, exist_ok=True)
    generate(settings.resolved_source_url(), scale=1500, seed=4)
    action = resolve_action("extracts")
    assert action is not None

    first = action(_ctx())
    assert first.waiting and not first.done
    ledger = upgraded(settings.resolved_ledger_url())
    rows = current_deliveries(ledger)
    assert rows and all(r.state is DeliveryState.delivered for r in rows.values())
    assert sorted(first.details["awaiting"]) == sorted(rows)

    last = sorted(rows)[-1]
    for oid, row in rows.items():
        if oid != last:
            receipt = Path(row.delivered_to or "").with_name(row.bag_name + ".receipt")
            receipt.write_text(json.dumps({"sha256": row.sha256}), encoding="utf-8")
    second = action(_ctx())
    assert second.waiting and second.details["awaiting"] == [last]

    resumer = threading.Thread(
        target=_resume_when_paused,
        args=({"confirmed_by": "Eva Ek", "received": True, "comment": "mottaget"},),
    )
    resumer.start()
    said = confirm_extract_receipt(org=last, timeout_seconds=120)
    resumer.join()
    assert said == "confirmed by Eva Ek"
    confirmed = current_deliveries(ledger)[last]
    assert (confirmed.receipt_by, confirmed.receipt_via) == ("Eva Ek", "form")

    third = action(_ctx())
    assert third.done and not third.waiting
    assert ledger.verify_audit().ok


def test_rehearsal_writes_bags_but_delivers_nothing(prefect_harness: None) -> None:
    settings = get_settings()
    Path(settings.home).mkdir(parents=True, exist_ok=True)
    generate(settings.resolved_source_url(), scale=800, seed=4)
    result = resolve_action("extracts")(_ctx(rehearse=True))  # type: ignore[misc]
    assert result.done and result.details["bags"] > 100
    assert current_deliveries(upgraded(settings.resolved_ledger_url())) == {}
    assert not (settings.home / "drops").exists()
