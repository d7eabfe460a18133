"""The extracts' ledger tables on SQLite and PostgreSQL: requests with deadlines, deliveries
from produced to receipt confirmed, every change audited, no identity in the audit chain."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from extract_cases import released
from ledgers import upgraded

from models.errors import InputError
from models.identity import make_personnummer, parse_identity
from models.ledger.extracts import DeliveryState, RequestState
from tasks.extracts.bag import BagWriter
from tasks.extracts.deadlines import open_deadlines
from tasks.extracts.delivery import (
    confirm_receipt,
    current_deliveries,
    deliver_all,
    load_drops,
    record_produced,
)
from tasks.extracts.orgs import OrgBag, OrgInfo
from tasks.extracts.requests import get_request, register_request


def _org_bag(root: Path, org: OrgInfo) -> OrgBag:
    w = BagWriter(root / f"samsa-registerutdrag-{org.id}")
    w.add_text("README.txt", f"Uttag för {org.name}\n")
    return OrgBag(org, w.finish({}, bagging_date=date(2027, 1, 4)), {"message": 0})


def test_request_and_delivery_lifecycle(db_url: str, tmp_path: Path) -> None:
    ledger = upgraded(db_url)
    identity = make_personnummer(date(1961, 5, 2), 991)
    req = register_request(ledger, parse_identity(identity), received_on=date(2027, 1, 31),
                           registered_by="Handläggare")  # fmt: skip
    assert get_request(ledger, req.request_id).deadline == date(2027, 2, 28)
    with pytest.raises(InputError, match="är inte ett id för en begäran") as info:
        get_request(ledger, identity)  # an identity pasted where the request id belongs
    assert identity not in str(info.value) and identity[:8] not in str(info.value)

    org = OrgInfo("7", "Borås kommun", "municipality")
    record_produced(ledger, [_org_bag(tmp_path / "bags", org)])
    record_produced(ledger, [_org_bag(tmp_path / "bags", org)])  # same bag: no second row
    assert [d.key for d in open_deadlines(ledger, date(2027, 2, 1))] == [
        f"extract-request:{req.request_id}"
    ]
    drops = load_drops(tmp_path / "none.yaml", tmp_path)
    [delivered] = deliver_all(ledger, drops, {"7": org})
    assert Path(delivered.delivered_to or "").parent == tmp_path / "drops" / "7"
    with pytest.raises(InputError, match="not been delivered|no delivered"):
        confirm_receipt(ledger, "a" * 64, by="X", via="cli")
    confirm_receipt(ledger, delivered.sha256, by="Kim", via="cli")
    assert current_deliveries(ledger)["7"].state is DeliveryState.receipt_confirmed

    released(ledger, req.request_id, tmp_path / "answer")
    assert get_request(ledger, req.request_id).state is RequestState.answered
    assert open_deadlines(ledger, date(2027, 2, 1)) == []

    assert ledger.verify_audit().ok
    actions = [e.action for e in ledger.audit_entries()]
    assert actions == [
        "extract_request.registered", "extract.produced", "extract.delivered",
        "extract.receipt_confirmed",
        "extract_request.state", "decision.wait.began",  # under prövning: the release waits
        "approval.granted", "extract_request.state", "decision.wait.ended",  # lämnad
    ]  # fmt: skip
    audit_text = json.dumps([[e.subject, e.details] for e in ledger.audit_entries()])
    assert identity not in audit_text and identity[:8] not in audit_text
    ledger.close()


def test_notify_engine_sees_the_deadlines_without_personal_data() -> None:
    from flows.wiring import DEADLINE_PROVIDERS
    from models.settings import get_settings

    ledger = upgraded(get_settings().resolved_ledger_url())
    identity = make_personnummer(date(1970, 12, 24), 987)
    req = register_request(ledger, parse_identity(identity), received_on=date(2027, 5, 3))
    [provider] = [p for p in DEADLINE_PROVIDERS if type(p).__name__ == "ExtractsDeadlineProvider"]
    [deadline] = list(provider.deadlines(date(2027, 5, 20)))
    assert deadline.key == f"extract-request:{req.request_id}"
    assert deadline.due == date(2027, 6, 3) and deadline.tag == "projektledning"
    assert identity not in deadline.title and identity[:8] not in deadline.title


def test_an_answered_requests_identity_is_deleted_after_the_retention_period(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Answered on 2027-02-10: the identity stays 365 days, then `extract purge` deletes it
    (audited); an open request keeps its identity however old it is."""
    from datetime import UTC, datetime

    import time_machine

    from deploy.cli import main
    from models.settings import get_settings

    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", db_url)
    get_settings.cache_clear()
    ledger = upgraded(db_url)
    answered = register_request(ledger, parse_identity(make_personnummer(date(1961, 5, 2), 991)),
                                received_on=date(2027, 2, 1))  # fmt: skip
    still_open = register_request(ledger, parse_identity(make_personnummer(date(1970, 1, 2), 982)),
                                  received_on=date(2027, 2, 1))  # fmt: skip
    with time_machine.travel(datetime(2027, 2, 10, 14, 0, tzinfo=UTC), tick=False):
        released(ledger, answered.request_id, tmp_path)

    def purge(day: datetime) -> str:
        with time_machine.travel(day, tick=False):
            assert main(["extract", "purge"]) == 0
        return capsys.readouterr().out

    assert "identiteter raderade: 0" in purge(datetime(2028, 2, 10, 9, 0, tzinfo=UTC))
    assert get_request(ledger, answered.request_id).identity == (
        make_personnummer(date(1961, 5, 2), 991)
    )
    said = purge(datetime(2028, 2, 11, 9, 0, tzinfo=UTC))
    assert "identiteter raderade: 1" in said and answered.request_id in said
    gone = get_request(ledger, answered.request_id)
    assert gone.identity == "" and gone.state is RequestState.answered
    assert get_request(ledger, still_open.request_id).identity == (
        make_personnummer(date(1970, 1, 2), 982)
    )
    entry = ledger.audit_entries()[-1]
    assert entry.action == "extract_request.identity_deleted"
    assert entry.subject == f"extract-request:{answered.request_id}"
    assert "identiteter raderade: 0" in purge(datetime(2029, 1, 1, 9, 0, tzinfo=UTC))  # once
