"""The one-time code sent through the approver's own channel, and the gallringsbeslut's
diarienummer, tried as an attacker or a hurried operator would.

The plan (tests/data/reconciler-plan.yaml, copied with ``c-radera`` marked ``disposal``) names
the approver's channel ``godkannare``; a loopback HTTP receiver is that channel and another,
untagged receiver stands for a catch-all channel (tests/approver_inbox.py). Everything goes
through ``samsa-decom approve`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from approver_inbox import CODE_RE, Inbox
from ledgers import upgraded
from sqlalchemy import MetaData, select, text

from deploy.cli import main
from models import clock
from models.ledger import Ledger
from models.milestone import MilestoneState
from models.settings import get_settings

DATA = Path(__file__).parent / "data"
SUBJECT = "milestone:c-radera"


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    text_ = (DATA / "reconciler-plan.yaml").read_text(encoding="utf-8")
    path = tmp_path / "plan.yaml"
    path.write_text(
        text_.replace(
            "    approver_channel: godkannare\n",
            "    approver_channel: godkannare\n    disposal: true\n",
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def ledger(
    db_url: str, plan: Path, monkeypatch: pytest.MonkeyPatch, approver_inbox: Inbox
) -> Ledger:
    """c-radera waits for its approval (a wait has begun); nothing was sent yet."""
    import flows.wiring
    from tests.reconciler_actions import REGISTRY

    for name, target in REGISTRY.items():
        monkeypatch.setitem(flows.wiring.ACTIONS, name, target)
    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", db_url)
    monkeypatch.setenv("SAMSA_DECOM_PLAN_PATH", str(plan))
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(DATA / "rollout-live.yaml"))
    get_settings.cache_clear()
    lg = upgraded(db_url)
    with lg.unit_of_work() as s:
        lg.set_state(
            s,
            "c-radera",
            MilestoneState.awaiting_approval,
            reason="väntar på godkännande",
            due=date(2026, 2, 25),
        )
    return lg


def _approve(*extra: str, who: str = "Anna Andersson") -> int:
    return main(["approve", "c-radera", "--approver", who, *extra])


def _ask_code(inbox: Inbox, capsys: pytest.CaptureFixture[str]) -> str:
    """What an approver does: `approve` without a code sends one to their channel."""
    assert _approve("--diarienummer", "RS 2026-01234") == 2
    err = capsys.readouterr().err
    assert "engångskod krävs" in err and "kanalen 'godkannare'" in err
    return inbox.code()


def test_the_code_reaches_only_the_approvers_own_channel_and_is_required(
    ledger: Ledger, approver_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _ask_code(approver_inbox, capsys)

    assert CODE_RE.fullmatch(code)
    assert not any(CODE_RE.search(json.dumps(p)) for _, p in approver_inbox.everyone.posts)
    assert ledger.approvals(SUBJECT) == []  # asking for a code decides nothing
    (sent,) = [e for e in ledger.audit_entries() if e.action == "decision.code.sent"]
    assert sent.details["channel"] == "godkannare"  # the tag, never the URL
    assert "127.0.0.1" not in json.dumps(sent.details)

    assert _approve("--code", code, "--diarienummer", "rs2026-01234") == 0
    approval = ledger.latest_approval(SUBJECT)
    assert approval is not None and approval.approved and approval.case_number == "RS 2026-01234"
    (entry,) = [e for e in ledger.audit_entries() if e.seq == approval.audit_seq]
    assert entry.details["code_channel"] == "godkannare"
    assert entry.details["case_number"] == "RS 2026-01234"
    assert ledger.verify_audit().ok


def test_a_wrong_code_is_refused_counted_and_locks_the_code_at_the_fifth_try(
    ledger: Ledger, approver_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _ask_code(approver_inbox, capsys)
    wrong = "ABCD-EFGH" if code != "ABCD-EFGH" else "HGFE-DCBA"

    assert _approve("--code", wrong, "--diarienummer", "RS 2026-1") == 2
    assert "Fel engångskod för milestone:c-radera (4 försök kvar)." in capsys.readouterr().err
    for _ in range(3):
        assert _approve("--code", wrong, "--diarienummer", "RS 2026-1") == 2
    assert _approve("--code", wrong, "--diarienummer", "RS 2026-1") == 2
    assert "spärrad efter 5 felaktiga försök" in capsys.readouterr().err
    # locked: even the right code is refused now, and nothing was decided
    assert _approve("--code", code, "--diarienummer", "RS 2026-1") == 2
    assert "Ingen giltig engångskod" in capsys.readouterr().err
    assert ledger.approvals(SUBJECT) == []
    refused = [e for e in ledger.audit_entries() if e.action == "decision.code.refused"]
    assert [e.details["failures"] for e in refused] == [1, 2, 3, 4, 5]
    assert all(e.details["channel"] == "godkannare" for e in refused)


def test_a_used_code_cannot_be_replayed(
    ledger: Ledger, approver_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _ask_code(approver_inbox, capsys)
    assert _approve("--refuse", "--code", code, who="Bo Berg") == 0  # a refusal needs no dnr

    assert _approve("--code", code, "--diarienummer", "RS 2026-1", who="Mallory Malm") == 2
    assert "har redan använts" in capsys.readouterr().err
    assert [a.approver for a in ledger.approvals(SUBJECT)] == ["Bo Berg"]


def test_a_code_of_an_earlier_wait_is_void_after_the_gate_closed_and_reopened(
    ledger: Ledger, approver_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _ask_code(approver_inbox, capsys)
    with ledger.unit_of_work() as s:  # the gate closes, then opens again: a new wait
        ledger.set_state(s, "c-radera", MilestoneState.blocked, reason="förutsättningen")
        ledger.set_state(s, "c-radera", MilestoneState.awaiting_approval, reason="väntar")

    assert _approve("--code", code, "--diarienummer", "RS 2026-1") == 2
    assert "Ingen giltig engångskod" in capsys.readouterr().err
    assert ledger.approvals(SUBJECT) == []


def test_an_expired_code_is_refused_and_a_new_one_can_be_asked_for(
    ledger: Ledger, approver_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _ask_code(approver_inbox, capsys)
    later = clock.now() + timedelta(hours=get_settings().decision_code_valid_hours, minutes=1)
    with time_machine.travel(later, tick=True):
        assert _approve("--code", code, "--diarienummer", "RS 2026-1") == 2
        assert "gick ut" in capsys.readouterr().err
        fresh = _ask_code(approver_inbox, capsys)
        assert fresh != code
        assert _approve("--code", fresh, "--diarienummer", "RS 2026-1") == 0


def test_a_code_row_forged_in_the_ledger_does_not_open_the_decision(
    ledger: Ledger, approver_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Write access to the ledger is not enough: without the audit key nobody can store the
    HMAC of a code of their own choosing."""
    import hashlib
    import hmac

    _ask_code(approver_inbox, capsys)
    wait = ledger.wait_in_progress(SUBJECT)
    mine = "MMMM-2222"
    forged = hmac.new(
        b"a key of my own" * 3,
        f"samsa-decom decision code\0{SUBJECT}\0{wait}\0{mine.replace('-', '')}".encode(),
        hashlib.sha256,
    ).hexdigest()
    with ledger.engine.begin() as c:
        c.execute(text("UPDATE decision_code SET digest = :d"), {"d": forged})

    assert _approve("--code", mine, "--diarienummer", "RS 2026-1", who="Mallory Malm") == 2
    assert "Fel engångskod" in capsys.readouterr().err
    assert ledger.approvals(SUBJECT) == []


def test_the_code_is_nowhere_in_clear(
    ledger: Ledger,
    approver_inbox: Inbox,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    code = _ask_code(approver_inbox, capsys)
    assert _approve("--code", code, "--diarienummer", "RS 2026-1") == 0
    said = capsys.readouterr()

    bare = code.replace("-", "")
    seen = [said.out, said.err, caplog.text]
    md = MetaData()
    md.reflect(ledger.engine)
    with ledger.engine.connect() as c:
        for table in md.sorted_tables:
            seen += [repr(tuple(row)) for row in c.execute(select(table))]
    assert [s for s in seen if code in s or bare in s] == []


def test_a_deletion_is_not_approved_without_a_well_formed_diarienummer(
    ledger: Ledger, approver_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _ask_code(approver_inbox, capsys)

    assert _approve("--code", code) == 2
    assert "diarienummer för gallringsbeslutet krävs (t.ex. RS 2026-01234)" in (
        capsys.readouterr().err
    )
    assert _approve("--code", code, "--diarienummer", "19121212-1212") == 2
    err = capsys.readouterr().err
    assert "är inget diarienummer" in err
    assert _approve("--code", code, "--diarienummer", "gallring") == 2
    # the case number is checked before the code: none of these tries used or burnt it
    assert _approve("--code", code, "--diarienummer", "RS 2026-01234") == 0
    approval = ledger.latest_approval(SUBJECT)
    assert approval is not None and approval.case_number == "RS 2026-01234"

    # changing the case number in the row afterwards leaves a decision no audit entry backs
    with ledger.engine.begin() as c:
        c.execute(text("UPDATE approval SET case_number = 'RS 2026-99999'"))
    assert ledger.approvals(SUBJECT) == []
    assert "records a different decision" in ledger.unbacked_approvals()[0]


def test_without_a_channel_for_the_approvers_tag_no_code_is_issued(
    ledger: Ledger,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    approver_inbox: Inbox,
) -> None:
    """A catch-all channel is not the approver's: with only that configured, nothing is sent
    and the operator is told which tag to configure."""
    monkeypatch.setenv("SAMSA_DECOM_APPRISE_URLS", approver_inbox.everyone.url("/alla"))
    get_settings.cache_clear()

    assert _approve("--diarienummer", "RS 2026-1") == 2
    err = capsys.readouterr().err
    assert "no notification channel is tagged 'godkannare'" in err
    assert approver_inbox.everyone.posts == []
    assert [e for e in ledger.audit_entries() if e.action == "decision.code.sent"] == []


# -- an integration's point of no return -------------------------------------------------------


@pytest.fixture
def elvis_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, approver_inbox: Inbox):  # noqa: ANN201
    """The loopback counterpart's ``elvis``, whose catalogue names its approver's channel;
    the clock on AS_OF (a real shutdown acts on today)."""
    from datetime import datetime
    from datetime import time as dt_time
    from zoneinfo import ZoneInfo

    from integrations_counterpart import AS_OF, Counterpart, make_world

    cp = Counterpart().start()
    w = make_world(tmp_path, f"sqlite:///{tmp_path / 'samsa.sqlite'}", cp)
    catalogue = tmp_path / "integrations.yaml"
    catalogue.write_text(
        catalogue.read_text(encoding="utf-8").replace(
            "    point_of_no_return: revoke\n",
            "    point_of_no_return: revoke\n    approver_channel: godkannare\n",
            1,
        ),
        encoding="utf-8",
    )
    for k, v in {
        "SAMSA_DECOM_SOURCE_URL": w.db,
        "SAMSA_DECOM_LEDGER_URL": w.db,
        "SAMSA_DECOM_INTEGRATIONS_PATH": str(catalogue),
        "SAMSA_DECOM_PLAN_PATH": str(w.plan),
        "SAMSA_DECOM_ROLLOUT_SOURCE": str(w.rollout),
    }.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    noon = datetime.combine(AS_OF, dt_time(12), tzinfo=ZoneInfo("Europe/Stockholm"))
    with time_machine.travel(noon, tick=True):
        yield w
    cp.stop()


def test_an_integrations_point_of_no_return_needs_the_code_from_its_approvers_channel(
    elvis_world,
    approver_inbox: Inbox,
    capsys: pytest.CaptureFixture[str],  # noqa: ANN001
) -> None:
    w = elvis_world
    assert main(["integrations", "shutdown", "elvis"]) == 0
    assert "waits for approval of integration:elvis:revoke" in capsys.readouterr().out
    code = approver_inbox.code()  # sent when the point of no return began to wait
    assert not any(CODE_RE.search(json.dumps(p)) for _, p in approver_inbox.everyone.posts)

    approve = ["integrations", "approve", "elvis", "--approver", "Anna Andersson"]
    assert main(approve) == 2
    assert "engångskod krävs" in capsys.readouterr().err
    wrong = "ABCD-EFGH" if code != "ABCD-EFGH" else "HGFE-DCBA"
    assert main([*approve, "--code", wrong]) == 2
    assert "Fel engångskod för integration:elvis:revoke (4 försök kvar)." in (
        capsys.readouterr().err
    )
    assert main(["integrations", "shutdown", "elvis"]) == 0
    assert w.cp.count("POST", "/elvis/revoke") == 0  # nothing approved yet

    assert main([*approve, "--code", code]) == 0
    assert main([*approve, "--code", code]) == 2  # and only once
    assert "har redan använts" in capsys.readouterr().err
    assert main(["integrations", "shutdown", "elvis"]) == 0
    assert w.cp.count("POST", "/elvis/revoke") == 1
    approval = w.ledger.latest_approval("integration:elvis:revoke")
    (entry,) = [e for e in w.ledger.audit_entries() if e.seq == approval.audit_seq]
    assert entry.details["code_channel"] == "godkannare"


def test_an_approval_written_past_the_code_counts_for_nothing(
    ledger: Ledger, approver_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even a genuine, audit-backed approval of the wait in progress (written by code that
    holds the audit key, past the form and `approve`) does not count without its code."""
    from tasks.ledger_view import read_facts, record_decision

    needs_code = {"c-radera": "godkannare"}
    record_decision(
        ledger,
        milestone_id="c-radera",
        kind="approval",
        approver="Mallory Malm",
        approved=True,
        comment="",
        manual=False,
        gate_open=True,
        flow_run_id=None,
    )
    assert ledger.latest_approval(SUBJECT).approver == "Mallory Malm"  # backed …
    assert read_facts(ledger, needs_code)["c-radera"].decision is None  # … but not confirmed

    code = _ask_code(approver_inbox, capsys)
    assert _approve("--code", code, "--diarienummer", "RS 2026-1") == 0
    decision = read_facts(ledger, needs_code)["c-radera"].decision
    assert decision is not None and decision.approver == "Anna Andersson"


def test_an_integration_approval_without_its_code_revokes_nothing(
    elvis_world,
    approver_inbox: Inbox,
    capsys: pytest.CaptureFixture[str],  # noqa: ANN001
) -> None:
    w = elvis_world
    assert main(["integrations", "shutdown", "elvis"]) == 0
    w.approve()  # genuine and for the wait in progress, but no code came with it

    assert main(["integrations", "shutdown", "elvis"]) == 0
    assert "waits for approval of integration:elvis:revoke" in capsys.readouterr().out
    assert w.cp.count("POST", "/elvis/revoke") == 0


def test_approve_cannot_be_pointed_at_a_plan_without_the_approvers_channel(
    ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plan of one's own (c-radera as a plain manual step, no channel, no disposal) would
    skip the code and the diarienummer: `approve` takes no plan; it uses the configured one."""
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        (DATA / "reconciler-plan.yaml")
        .read_text(encoding="utf-8")
        .replace("    irreversible: true\n    approver_channel: godkannare\n", ""),
        encoding="utf-8",
    )

    assert _approve("--plan", str(evil)) == 2
    assert "--plan" in capsys.readouterr().err
    assert ledger.approvals(SUBJECT) == []
    assert ledger.states()["c-radera"].state is MilestoneState.awaiting_approval
