"""One person's extract: identity mistakes (exit 2, never the full number), requests with a
one-month deadline, and the extract itself from the live database (JSON, HTML, PDF)."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from ledgers import upgraded

from deploy.cli import main
from models.identity import make_personnummer, make_reserve_number, parse_identity
from models.ledger.extracts import RequestState
from tasks.extracts.person import LivePersonLookup, build_person_extract
from tasks.extracts.requests import get_request, one_month_after, register_request
from tasks.extracts.source import LiveSource
from tasks.synthetic import generate

VALID = make_personnummer(date(1950, 3, 7), 982)
WRONG_CHECK = VALID[:-1] + str((int(VALID[-1]) + 1) % 10)
RESERVE = make_reserve_number(date(1981, 8, 29), "M", 7)


@pytest.fixture
def samsa(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'samsa.sqlite'}"
    generate(url, scale=2000, seed=5)
    return url


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (WRONG_CHECK, "wrong check digit"),
        (f"{WRONG_CHECK[:8]}-{WRONG_CHECK[8:]}", "wrong check digit"),
        ("19500231-9821", "impossible date"),
        ("19500291-9821", "impossible day of birth (+60)"),
        ("1950-03-07", "unknown identity format"),
        ("abcdefghijkl", "unknown identity format"),
        (RESERVE[:8] + "Q" + RESERVE[9:], "sex letter"),
        (RESERVE[:-1] + str((int(RESERVE[-1]) + 1) % 10), "wrong check digit for a reserve"),
    ],
)
def test_each_identity_mistake_gives_its_error_and_exit_2(
    given: str, reason: str, samsa: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(given + "\n"))
    code = main(["extract", "person", "--file", "-", "--source", samsa, "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2
    assert reason in captured.err
    digits = "".join(ch for ch in given if ch.isalnum())
    for shown in (given, digits, digits[-4:] if len(digits) == 12 else given):
        assert shown not in captured.err + captured.out
    assert not list(tmp_path.glob("registerutdrag-*"))


@pytest.mark.no_ledger
def test_an_identity_on_the_command_line_is_refused(
    samsa: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ps`` shows every process's arguments to every user: identities come by file only."""
    for command in (["extract", "request"], ["extract", "person", "--source", samsa,
                                            "--out", str(tmp_path)]):  # fmt: skip
        assert main([*command, "--id", VALID]) == 2
        assert VALID not in capsys.readouterr().err
    assert not (tmp_path / "samsa-home").exists()  # no ledger was opened


def test_deadline_is_one_month_after_the_request(tmp_path: Path) -> None:
    assert one_month_after(date(2027, 1, 31)) == date(2027, 2, 28)
    assert one_month_after(date(2027, 12, 15)) == date(2028, 1, 15)
    ledger = upgraded(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    req = register_request(ledger, parse_identity(VALID), received_on=date(2027, 3, 31))
    stored = get_request(ledger, req.request_id)
    assert stored.deadline == date(2027, 4, 30)
    assert stored.state is RequestState.registered
    entries = ledger.audit_entries()
    assert VALID not in json.dumps([e.details for e in entries]) + entries[-1].subject


def test_person_extract_from_the_live_database(samsa: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    con = sqlite3.connect(samsa.removeprefix("sqlite:///"))
    pid, identity = con.execute(
        "select p.id, p.identity from person p where exists "
        "(select 1 from access_log a where a.person_id = p.id) order by p.id limit 1"
    ).fetchone()
    n_messages = con.execute("select count(*) from message where person_id=?", (pid,)).fetchone()
    n_log = con.execute("select count(*) from access_log where person_id=?", (pid,)).fetchone()
    con.close()
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    upgraded(ledger_url).close()  # as `samsa-decom up` does
    out = tmp_path / "out"
    monkeypatch.setattr("sys.stdin", io.StringIO(identity + "\n"))
    code = main(["extract", "person", "--file", "-", "--source", samsa, "--out", str(out),
                 "--ledger", ledger_url])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and identity not in printed
    # `extract person` starts the case: the review copy, complete, and nothing released
    [json_file] = out.glob("granskningsexemplar-*.json")
    request_id = json_file.stem.removeprefix("granskningsexemplar-")
    assert not list(out.glob("registerutdrag-*"))
    assert get_request(upgraded(ledger_url), request_id).state is RequestState.under_review
    # approved, then released: the citizen's version
    assert main(["extract", "approve", request_id, "--approver", "Eva Beslutsfattare",
                 "--ledger", ledger_url]) == 0  # fmt: skip
    assert main(["extract", "release", request_id, "--source", samsa, "--out", str(out),
                 "--ledger", ledger_url]) == 0  # fmt: skip
    assert identity not in capsys.readouterr().out
    doc = json.loads((out / f"registerutdrag-{request_id}.json").read_text(encoding="utf-8"))
    assert doc["found"] and doc["person"][0]["identity"] == identity
    assert len(doc["records"]["message"]) == n_messages[0]
    assert len(doc["access_log"]) == n_log[0] > 0
    assert all(a["user_name"] and a["org_name"] and a["at"] for a in doc["access_log"])
    html = (out / f"registerutdrag-{request_id}.html").read_text(encoding="utf-8")
    assert "Åtkomstlogg" in html and "Registerutdrag ur SAMSA" in html
    assert (out / f"registerutdrag-{request_id}.pdf").read_bytes().startswith(b"%PDF")
    req = get_request(upgraded(ledger_url), request_id)
    assert req.state is RequestState.answered and req.answered_from == "live"


def test_unknown_person_gets_an_answer_that_says_nothing_is_held(samsa: str) -> None:
    lookup = LivePersonLookup(LiveSource(samsa))
    doc = build_person_extract(lookup, parse_identity("19121212-1212"), request_id="r",
                               produced_on=date(2026, 11, 27))  # fmt: skip
    assert doc["found"] is False and doc["person"] == [] and doc["access_log"] == []
    assert all(rows == [] for rows in doc["records"].values())


def test_request_file_reports_every_bad_line_without_the_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "requests.txt"
    f.write_text(f"# begäranden\n{VALID}\n{WRONG_CHECK}\n\nabc\n{RESERVE}\n", encoding="utf-8")
    code = main(["extract", "request", "--file", str(f), "--ledger",
                 f"sqlite:///{tmp_path / 'ledger.sqlite'}"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert f"{f}:3: check_digit" in err and f"{f}:5: format" in err and "2 problems" in err
    assert WRONG_CHECK not in err and VALID not in err
    ledger = upgraded(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    assert ledger.audit_entries() == []  # nothing registered when any line is bad
