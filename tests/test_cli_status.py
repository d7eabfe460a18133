"""``samsa-decom status`` and ``samsa-decom approve`` through the real entry point."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from approver_inbox import Inbox
from ledgers import upgraded

from deploy.cli import main
from models.ledger import Ledger
from models.milestone import MilestoneState
from models.settings import get_settings

DATA = Path(__file__).parent / "data"


def _code(ledger: Ledger, inbox: Inbox, milestone: str = "c-radera") -> str:
    """The one-time code for the wait in progress, as it reaches the approver's channel."""
    from models.plan import load_plan
    from tasks.phaseout.decide import send_milestone_code

    send_milestone_code(ledger, load_plan(DATA / "reconciler-plan.yaml"), milestone)
    return inbox.code()


@pytest.fixture
def inbox(approver_inbox: Inbox) -> Inbox:
    return approver_inbox


@pytest.fixture
def ledger(db_url: str, monkeypatch: pytest.MonkeyPatch, inbox: Inbox) -> Ledger:
    """A ledger as the reconciler leaves it on 2026-03-01 with the test plan (and the test
    actions registered, so c-radera is an irreversible *action*, not a manual step)."""
    import flows.wiring
    from tests.reconciler_actions import REGISTRY

    for name, target in REGISTRY.items():
        monkeypatch.setitem(flows.wiring.ACTIONS, name, target)
    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", db_url)
    monkeypatch.setenv("SAMSA_DECOM_PLAN_PATH", str(DATA / "reconciler-plan.yaml"))
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(DATA / "rollout-live.yaml"))
    monkeypatch.setenv("COLUMNS", "220")
    get_settings.cache_clear()
    lg = upgraded(db_url)
    with lg.unit_of_work() as s:
        lg.set_state(s, "a-forbered", MilestoneState.done, reason="utförd",
                     due=date(2026, 1, 10))
        lg.set_state(s, "b-exportera", MilestoneState.done, due=date(2026, 1, 15))
        lg.set_state(s, "c-radera", MilestoneState.awaiting_approval,
                     reason="väntar på godkännande", due=date(2026, 2, 25))
        lg.set_state(s, "d-informera", MilestoneState.awaiting_approval,
                     reason="väntar på bekräftelse", due=date(2026, 1, 20))
        lg.set_state(s, "f-senare", MilestoneState.pending, due=date(2026, 9, 30))
    return lg


def test_status_shows_the_ledger_with_titles_and_days(
    ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--as-of", "2026-03-01"]) == 0
    text = capsys.readouterr().out
    assert "Radera SAMSA-databasen" in text and "Systemförvaltare" in text
    assert "väntar på beslut" in text
    assert "40 d försenad" in text  # d-informera, due 2026-01-20
    assert "om 213 d" in text  # f-senare, due 2026-09-30
    assert "5 milstolpar per 2026-03-01" in text


def test_status_and_approve_speak_english_by_the_setting(
    ledger: Ledger, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMSA_DECOM_LANGUAGE", "en")
    get_settings.cache_clear()
    assert main(["status", "--as-of", "2026-03-01"]) == 0
    text = capsys.readouterr().out
    assert "awaiting approval" in text and "40 d overdue" in text and "in 213 d" in text
    assert "5 milestones as of 2026-03-01" in text
    assert "milstolpar" not in text and "försenad" not in text
    assert main(["approve", "d-informera", "--approver", "Cecilia Ek"]) == 0
    assert "d-informera: confirmed by Cecilia Ek → done" in capsys.readouterr().out
    # --lang wins over the setting, and a language the CLI does not speak is bad input
    assert main(["status", "--as-of", "2026-03-01", "--lang", "sv"]) == 0
    assert "5 milstolpar per 2026-03-01" in capsys.readouterr().out
    assert main(["status", "--lang", "fr"]) == 2
    assert "--lang: 'fr' is not supported" in capsys.readouterr().err


def test_status_waiting_lists_only_what_awaits_a_person(
    ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--waiting", "--as-of", "2026-03-01"]) == 0
    text = capsys.readouterr().out
    assert "c-radera" in text and "d-informera" in text and "f-senare" not in text


def test_approve_a_manual_step_marks_it_done_with_the_approver(
    ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["approve", "d-informera", "--approver", "Cecilia  Ek",
                 "--comment", "utskick gjort, se 19121212-1212"])
    assert code == 0, capsys.readouterr().err
    assert "d-informera: bekräftad av Cecilia Ek → klar" in capsys.readouterr().out
    rec = ledger.states()["d-informera"]
    assert rec.state is MilestoneState.done
    approval = ledger.latest_approval("milestone:d-informera")
    assert approval.approver == "Cecilia Ek" and approval.kind == "confirmation"
    assert "19121212-****" in approval.comment and "1212-1212" not in approval.comment
    assert ledger.verify_audit().ok


def test_approve_an_irreversible_step_leaves_it_to_the_reconciler(
    ledger: Ledger, capsys: pytest.CaptureFixture[str], inbox: Inbox
) -> None:
    code = _code(ledger, inbox)
    assert main(["approve", "c-radera", "--approver", "Anna Andersson", "--code", code]) == 0
    assert "den dagliga avstämningen agerar vid nästa körning" in capsys.readouterr().out
    assert ledger.states()["c-radera"].state is MilestoneState.awaiting_approval
    assert ledger.latest_approval("milestone:c-radera").kind == "approval"


def test_an_irreversible_step_without_its_action_is_confirmed_by_hand(
    ledger: Ledger, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    inbox: Inbox,
) -> None:
    import flows.wiring

    monkeypatch.delitem(flows.wiring.ACTIONS, "test-ok")  # its workstream is not built yet
    code = _code(ledger, inbox)
    assert main(["approve", "c-radera", "--approver", "Anna Andersson", "--code", code]) == 0
    assert "bekräftad av Anna Andersson → klar" in capsys.readouterr().out
    assert ledger.latest_approval("milestone:c-radera").kind == "approval"


def test_refuse_an_irreversible_step_blocks_it(
    ledger: Ledger, capsys: pytest.CaptureFixture[str], inbox: Inbox
) -> None:
    code = _code(ledger, inbox)
    assert main(["approve", "c-radera", "--approver", "Bo Berg", "--refuse",
                 "--comment", "revisionen först", "--code", code]) == 0
    rec = ledger.states()["c-radera"]
    assert rec.state is MilestoneState.blocked and "Bo Berg" in rec.detail
    # a new decision after a refusal is allowed (the step waits anew), with a new code: the
    # first one was used by the refusal; without --code a new one is sent
    assert main(["approve", "c-radera", "--approver", "Anna Andersson", "--code", code]) == 2
    assert "har redan använts" in capsys.readouterr().err
    assert main(["approve", "c-radera", "--approver", "Anna Andersson"]) == 2
    assert "en ny kod har skickats till kanalen 'godkannare'" in capsys.readouterr().err
    assert inbox.code() != code
    assert main(["approve", "c-radera", "--approver", "Anna Andersson",
                 "--code", inbox.code()]) == 0
    assert ledger.states()["c-radera"].state is MilestoneState.awaiting_approval
    assert ledger.latest_approval("milestone:c-radera").approved


def test_an_identity_number_is_refused_as_the_approver_like_on_the_form(
    ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["approve", "d-informera", "--approver", "19121212-1212"]) == 2
    err = capsys.readouterr().err
    assert "approver: write your name, not an identity number" in err
    assert "1212-1212" not in err  # the refusal does not repeat it
    assert ledger.states()["d-informera"].state is MilestoneState.awaiting_approval
    assert ledger.approvals("milestone:d-informera") == []


def test_the_comment_is_masked_before_it_is_kept(
    ledger: Ledger, capsys: pytest.CaptureFixture[str], inbox: Inbox
) -> None:
    assert main(["approve", "c-radera", "--approver", "Bo Berg", "--refuse",
                 "--comment", "gäller 19121212-1212", "--code", _code(ledger, inbox)]) == 0
    assert ledger.latest_approval("milestone:c-radera").comment == "gäller 19121212-****"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["approve", "f-senare", "--approver", "Anna"], "is pending: no decision is awaited"),
        (["approve", "d-informera", "--approver", "  "], "your name is required"),
        (["approve", "c-radra", "--approver", "Anna"], "did you mean 'c-radera'"),
        (["status", "--as-of", "2026-13-01"], "--as-of: '2026-13-01' is not a date"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    ledger: Ledger, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_status_shows_a_past_projected_date_as_prognos_not_overdue(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real plan with the real (paused) rollout: stop-new-connections ("before
    transition - 6m") has a date behind it, but the date is only a projection."""
    from models.settings import PLAN_DIR

    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", db_url)
    monkeypatch.setenv("SAMSA_DECOM_PLAN_PATH", str(PLAN_DIR / "samsa-phaseout.yaml"))
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(PLAN_DIR / "rollout.yaml"))
    monkeypatch.setenv("COLUMNS", "220")
    get_settings.cache_clear()
    lg = upgraded(db_url)
    with lg.unit_of_work() as s:
        lg.set_state(s, "stop-new-connections", MilestoneState.pending, due=date(2026, 9, 30))
        lg.set_state(s, "stop-new-development", MilestoneState.pending, due=date(2025, 12, 31))
    lg.close()
    assert main(["status", "--as-of", "2026-11-30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    stop = next(x for x in lines if "stop-new-connections" in x)
    assert "2026-09-30 (prognos)" in stop and "försenad" not in stop
    dev = next(x for x in lines if "stop-new-development" in x)
    assert "334 d försenad" in dev  # a fixed date is overdue as before
