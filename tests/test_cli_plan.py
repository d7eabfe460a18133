"""`samsa-decom plan` and `samsa-decom gate` through the real entry point: output and exit codes."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from ledgers import upgraded

from deploy.cli import main
from models.milestone import MilestoneState
from models.settings import PLAN_DIR

REAL_ROLLOUT = str(PLAN_DIR / "rollout.yaml")
RESUMED = str(PLAN_DIR / "rollout-resumed.yaml")

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.no_ledger
def test_plan_json_lists_every_milestone_with_dates_state_and_gate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from models.settings import get_settings

    ledger_file = get_settings().home / "ledger.sqlite"  # the configured one, not made yet
    code, out, _ = run(
        capsys,
        "plan",
        "--json",
        "--as-of",
        "2026-11-27",
        "--rollout",
        REAL_ROLLOUT,
    )
    assert code == 0
    rows = json.loads(out)
    assert len(rows) >= 25
    by_id = {r["id"]: r for r in rows}
    db = by_id["samsa-db-deleted"]
    assert db["due"] == "2028-01-27"  # transition 2027-03-27 (paused: today + 120 days) + 10m
    assert db["gate"] == "successor-stable" and db["gate_open"] is False
    assert db["irreversible"] is True and db["state"] == "pending"
    assert all(date.fromisoformat(r["due"]) for r in rows)
    assert all(isinstance(r["gate_open"], bool) for r in rows)
    assert {r["state"] for r in rows} == {"pending"}
    assert not ledger_file.exists()  # looking never creates a ledger


def test_plan_shows_ledger_states_and_real_completion_dates(
    capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    ledger = upgraded(db_url)
    # the archive was accepted on 20 November (Stockholm), a week before the day looked at
    with time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=STOCKHOLM), tick=False):
        with ledger.unit_of_work() as s:
            ledger.set_state(s, "archive-accepted", MilestoneState.done, actor="Arkivarie")
    with ledger.unit_of_work() as s:
        ledger.set_state(s, "samsa-read-only", MilestoneState.awaiting_approval)
        ledger.set_state(s, "monthly-process-statistics@2026-11", MilestoneState.done)
        ledger.set_state(s, "monthly-security-review@2026-10", MilestoneState.done)
    ledger.close()
    code, out, _ = run(
        capsys,
        "plan",
        "--json",
        "--as-of",
        "2026-11-27",
        "--rollout",
        REAL_ROLLOUT,
        "--ledger",
        db_url,
    )
    assert code == 0
    by_id = {r["id"]: r for r in json.loads(out)}
    assert by_id["archive-accepted"]["state"] == "done"
    assert by_id["samsa-read-only"]["state"] == "awaiting_approval"
    assert by_id["notice-all-users"]["state"] == "pending"
    # recurring: the state of the latest occurrence whose day has come (<id>@YYYY-MM)
    stats = by_id["monthly-process-statistics"]
    assert stats["occurrence_id"] == "monthly-process-statistics@2026-11"
    assert (stats["state"], stats["overdue"], stats["next_occurrence"]) == (
        "done",
        False,
        "2026-12-05",
    )
    review = by_id["monthly-security-review"]  # November's review (the 15th) is not done
    assert review["occurrence_id"] == "monthly-security-review@2026-11"
    assert (review["state"], review["overdue"]) == ("pending", True)
    # 'after archive-accepted + 14d' follows the real completion day, not the planned one
    assert by_id["register-extract-routine-moved"]["due"] == "2026-12-04"


def test_plan_on_a_database_without_ledger_tables_shows_pending(
    capsys: pytest.CaptureFixture[str], pg_url: str
) -> None:
    code, out, _ = run(
        capsys,
        "plan",
        "--json",
        "--as-of",
        "2026-11-27",
        "--rollout",
        REAL_ROLLOUT,
        "--ledger",
        pg_url,
    )
    assert code == 0
    assert {r["state"] for r in json.loads(out)} == {"pending"}
    from sqlalchemy import create_engine, inspect

    engine = create_engine(pg_url)
    assert inspect(engine).get_table_names() == []  # nothing was created
    engine.dispose()


@pytest.mark.no_ledger
def test_plan_table_shows_transition_gates_and_budget(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploy.cli import plan_cmds

    monkeypatch.setattr(plan_cmds.out, "width", 220)  # a wide terminal: no cell cut short
    code, out, err = run(capsys, "plan", "--as-of", "2026-11-27", "--rollout", REAL_ROLLOUT)
    assert code == 0
    assert "Övergång till efterträdaren: 2027-03-27 (prognos, ej bekräftad)" in out
    assert "pausad sedan 2024-11-15" in out
    assert "inte uppfylld" in out  # every gate closed
    assert out.count("uppfylld") == out.count("inte uppfylld")
    assert "Budget" in out and "2027" in out and "över ramen" in out
    assert "beslutsloggen finns inte än" in err


def test_invalid_plan_exits_2_listing_every_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (PLAN_DIR / "samsa-phaseout.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    gate: successor-stable\n    irreversible: true\n", "    irreversible: true\n", 1
    )
    text = text.replace("depends_on: [samsa-read-only]", "depends_on: [samsa-read-onyl]", 1)
    text = text.replace("    due: 2025-12-31\n", "    due: 2025-12-31\n    duedate: x\n", 1)
    bad = tmp_path / "plan.yaml"
    bad.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "plan", "--plan", str(bad), "--rollout", REAL_ROLLOUT)
    assert code == 2 and out == ""
    flat = " ".join(err.split())
    assert "plan.yaml: 3 problems" in flat
    assert "duedate: unknown key" in flat
    assert "unknown milestone 'samsa-read-onyl' (did you mean 'samsa-read-only'" in flat
    assert "'backups-destroyed' is irreversible but has no gate" in flat
    assert flat.count("plan.yaml:") >= 3  # each problem names its line


def test_bad_inputs_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "plan", "--as-of", "27/11/2026")
    assert code == 2 and "not a date" in err
    code, _, err = run(capsys, "plan", "--rollout", str(tmp_path / "gone.yaml"))
    assert code == 2 and "rollout file not found" in err


def test_gate_closed_explains_why_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "gate",
        "samsa-db-deleted",
        "--as-of",
        "2026-11-27",
        "--rollout",
        REAL_ROLLOUT,
        "--json",
    )
    assert code == 0
    verdict = json.loads(out)
    assert verdict["open"] is False and verdict["gate"] == "successor-stable"
    assert (
        "Västra området: planerad 2026-10-15, pausad sedan 2025-02-01, inte i drift"
        in (verdict["reasons"])
    )
    code, out, _ = run(
        capsys, "gate", "samsa-db-deleted", "--as-of", "2026-11-27", "--rollout", REAL_ROLLOUT
    )
    assert code == 0 and "INTE UPPFYLLD" in out and "registrerat godkännande" in out


def test_gate_opens_in_the_resumed_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    # the south is live, but Sahlgrenska (western area, not live yet) discharges its residents
    code, out, _ = run(
        capsys, "gate", "area-south-switched", "--as-of", "2026-11-27", "--rollout", RESUMED,
        "--lang", "en",
    )  # fmt: skip
    assert code == 0 and "CLOSED" in out
    assert "counterparty VGR Västra området is not covered by the successor" in out
    code, out, _ = run(
        capsys, "gate", "area-south-switched", "--as-of", "2027-10-13", "--rollout", RESUMED,
        "--lang", "en",
    )  # fmt: skip
    assert code == 0 and "OPEN" in out and "live since 2026-03-16" in out
    assert "counterparty VGR Västra området is covered by the successor" in out
    code, out, _ = run(
        capsys, "gate", "samsa-db-deleted", "--as-of", "2027-12-12", "--rollout", RESUMED, "--json"
    )
    assert code == 0 and json.loads(out)["open"] is True


def test_gate_unknown_milestone_exits_2_with_near_matches(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "gate", "samsa-db-delete", "--rollout", REAL_ROLLOUT)
    assert code == 2 and out == ""
    assert "no milestone 'samsa-db-delete'" in err and "'samsa-db-deleted'" in err


def test_plan_warns_about_an_action_no_flow_has_registered(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows import wiring
    from flows.archive import archive_action

    monkeypatch.setattr(wiring, "ACTIONS", {"archive": archive_action})
    text = (PLAN_DIR / "samsa-phaseout.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "plan.yaml"
    bad.write_text(text.replace("    action: archive\n", "    action: archiv\n"), encoding="utf-8")
    code, out, _ = run(
        capsys,
        "plan",
        "--plan",
        str(bad),
        "--as-of",
        "2026-11-27",
        "--rollout",
        REAL_ROLLOUT,
        "--lang",
        "en",
    )
    flat = " ".join(out.split())
    assert code == 0
    assert "'archive-package-delivered': action 'archiv' is not registered (known: archive)" in flat


def test_the_plan_table_speaks_swedish_and_english_by_the_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a project manager reads is Swedish (stage status, its basis, workstream, state);
    SAMSA_DECOM_LANGUAGE=en gives English. The --json output keeps the codes."""
    from deploy.cli import plan_cmds
    from models.settings import get_settings

    monkeypatch.setattr(plan_cmds.out, "_width", 250)  # whole cells, whatever the terminal
    code, out, _ = run(capsys, "plan", "--as-of", "2026-11-27", "--rollout", REAL_ROLLOUT)
    assert code == 0
    assert "pausad 2024-11-15" in out and "(omstartsvarsel)" in out
    assert "Rutiner" in out and "planerad" in out
    for code_word in ("paused", "restart-notice", "pending", "routines"):
        assert f" {code_word} " not in out, code_word  # as a word in a cell
    monkeypatch.setenv("SAMSA_DECOM_LANGUAGE", "en")
    get_settings.cache_clear()
    code, out, _ = run(capsys, "plan", "--as-of", "2026-11-27", "--rollout", REAL_ROLLOUT)
    assert code == 0
    assert "paused 2024-11-15" in out and "(restart notice)" in out and "pending" in out
    assert "pausad" not in out and "Tidsfristen" not in out
    code, out, _ = run(capsys, "plan", "--json", "--as-of", "2026-11-27", "--rollout",
                       REAL_ROLLOUT)  # fmt: skip
    assert {r["state"] for r in json.loads(out)} == {"pending"}
