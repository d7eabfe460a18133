"""The step adapters on their own: answers checked, timeouts kept, failed SQL rolled back,
silence judged, personal data masked."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from integrations_counterpart import Counterpart, endpoint_mode, make_samsa_db

from models.identity import scrub_identities
from models.integrations import StepCall, StepKind
from tasks.integrations.adapters import DETAIL_LIMIT, judge_silence, run_step_call


def same(text: str) -> str:
    return text


@pytest.fixture
def counterpart():
    cp = Counterpart().start()
    yield cp
    cp.stop()


def test_http_checks_status_and_body_and_masks_personal_data(counterpart: Counterpart) -> None:
    ok = run_step_call(StepCall(kind=StepKind.http, url=f"{counterpart.url}/elvis/disable"), same)
    assert ok.ok and ok.detail.endswith(": 200")
    body = run_step_call(
        StepCall(
            kind=StepKind.http,
            method="GET",
            url=f"{counterpart.url}/elvis/status",
            expect_body='"revoke"',
        ),
        same,
    )
    assert not body.ok and "lacks '\"revoke\"'" in body.detail
    counterpart.fail["/x/y"] = 409
    counterpart.fail_text = "patient 19121212-1212 is still open"
    failed = run_step_call(StepCall(kind=StepKind.http, url=f"{counterpart.url}/x/y"), same)
    assert not failed.ok and "answered 409" in failed.detail
    assert "19121212-****" in failed.detail and "1212 is" not in failed.detail


def test_http_timeout_and_unreachable_are_failures_not_crashes(counterpart: Counterpart) -> None:
    counterpart.delay["/slow/x"] = 2
    slow = run_step_call(
        StepCall(kind=StepKind.http, url=f"{counterpart.url}/slow/x", timeout=0.3), same
    )
    assert not slow.ok and "no answer within 0.3 s" in slow.detail
    gone = run_step_call(StepCall(kind=StepKind.http, url="http://127.0.0.1:9/x", timeout=1), same)
    assert not gone.ok and "ConnectError" in gone.detail


def test_sql_with_wrong_row_count_is_rolled_back(db_url: str) -> None:
    make_samsa_db(db_url)
    wrong = run_step_call(
        StepCall(
            kind=StepKind.sql,
            database=db_url,
            expect_rows=1,
            sql="UPDATE integration_endpoint SET mode = 'off'",
        ),
        same,
    )
    assert not wrong.ok and "2 rows (expected 1); rolled back" in wrong.detail
    assert endpoint_mode(db_url, "elvis") == "active"
    bad = run_step_call(
        StepCall(kind=StepKind.sql, database=db_url, sql="SELECT nope FROM nowhere"), same
    )
    assert not bad.ok


def test_sql_silence_from_message_timestamps(db_url: str) -> None:
    make_samsa_db(db_url, last_message="2026-11-01 08:00:00")
    query = StepCall(
        kind=StepKind.sql,
        database=db_url,
        sql="SELECT max(sent_at) FROM message WHERE receiver = 'elvis'",
    )
    early = run_step_call(query, same, silent_days=14, as_of=date(2026, 11, 14))
    assert early.not_yet and "silent from 2026-11-15" in early.detail
    late = run_step_call(query, same, silent_days=14, as_of=date(2026, 11, 15))
    assert late.ok and late.last_message_at == datetime(2026, 11, 1, 8, 0)


def test_command_exit_code_and_timeout(tmp_path: Path) -> None:
    ok = run_step_call(
        StepCall(kind=StepKind.command, command=[sys.executable, "-c", "pass"]), same
    )
    assert ok.ok
    bad = run_step_call(
        StepCall(
            kind=StepKind.command,
            command=[
                sys.executable,
                "-c",
                "import sys; sys.stderr.write('cert busy'); sys.exit(3)",
            ],
        ),
        same,
    )
    assert not bad.ok and "exit 3 (expected 0): cert busy" in bad.detail
    slow = run_step_call(
        StepCall(
            kind=StepKind.command,
            timeout=0.5,
            command=[sys.executable, "-c", "import time; time.sleep(5)"],
        ),
        same,
    )
    assert not slow.ok and "still running after 0.5 s" in slow.detail
    missing = run_step_call(StepCall(kind=StepKind.command, command=[str(tmp_path / "nope")]), same)
    assert not missing.ok and "cannot be started" in missing.detail


def test_silence_judgement_and_masking() -> None:
    assert judge_silence(None, 14, date(2026, 1, 1)).ok
    masked = scrub_identities("19121212-1212 och 121212+1212", limit=DETAIL_LIMIT)
    assert masked == "19121212-**** och 121212-****"
    assert len(scrub_identities("x" * 1000, limit=DETAIL_LIMIT)) == 300
