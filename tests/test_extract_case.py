"""A person's request is a case in the beslutslogg (issue 16 §1): kinds and deadlines, legal
transitions only, an extension recorded with its notice within the first month, refusals with
an överklagandehänvisning, the secrecy review before release (OSL 25 kap. 1 §), a release only
with an approval of the review in progress, one run per case at a time, and a citizen's
version that says what art. 15 requires, with Swedish labels and Swedish local time.

Each safeguard is attacked: a release without an approval, with another case's approval, with
an approval the review has since outdated, after a refusal, with an approval row inserted by
hand, and two runs on one case at once.
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path

import pytest
import time_machine
from ledgers import upgraded

from deploy.cli import main
from models import clock
from models.errors import CheckFailed, InputError
from models.extract_case import (
    APPEAL,
    TRANSITIONS,
    RequestKind,
    add_months,
    check_transition,
    deadline_for,
)
from models.identity import parse_identity
from models.ledger import Ledger, make_engine
from models.ledger.extracts import RequestState
from tasks.extracts.case import (
    approve_release,
    case_lease,
    extend,
    refuse,
    release_subject,
    set_staff_hsa,
    start_review,
    withhold,
)
from tasks.extracts.render import shown
from tasks.extracts.requests import get_request, register_request
from tasks.extracts.review import WITHHELD, Category
from tasks.extracts.service import prepare_review, release_request
from tasks.synthetic import generate

#: A winter noon (12:00 UTC is 13:00 in Stockholm), fixed so no test depends on today.
NOON = datetime(2027, 2, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def samsa_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("samsa") / "samsa.sqlite"
    generate(f"sqlite:///{path}", scale=2000, seed=5)
    return path


@pytest.fixture
def samsa(samsa_file: Path) -> str:
    return f"sqlite:///{samsa_file}"


def _person(samsa_file: Path) -> tuple[str, list[str], list[str], list[str]]:
    """A person with relatives in SIP meetings, message text and an access log: their identity,
    the relatives' names, the staff's names and the staff's HSA-ids."""
    con = sqlite3.connect(samsa_file)
    pid, identity = con.execute(
        "select p.id, p.identity from person p where exists (select 1 from sip_participant s "
        "where s.person_id = p.id and s.role <> 'patient') and exists (select 1 from access_log "
        "a where a.person_id = p.id) order by p.id limit 1"
    ).fetchone()
    names = [r[0] for r in con.execute(
        "select participant_name from sip_participant where person_id=? and role<>'patient'",
        (pid,))]  # fmt: skip
    staff = con.execute(
        "select distinct u.name, u.hsa_id from access_log a join user_account u on "
        "u.id = a.user_id where a.person_id = ?", (pid,)).fetchall()  # fmt: skip
    con.close()
    return identity, names, [s[0] for s in staff], [s[1] for s in staff]


@pytest.fixture
def ledger(db_url: str) -> Ledger:
    return upgraded(db_url)


def _case(ledger: Ledger, identity: str, kind: RequestKind = RequestKind.gdpr_art15,
          received_on: date | None = None) -> str:  # fmt: skip
    return register_request(
        ledger,
        parse_identity(identity),
        kind=kind,
        received_on=received_on,
        registered_by="Kim Handläggare",
    ).request_id


# -- states and deadlines -------------------------------------------------------------------
@pytest.mark.parametrize("current", list(RequestState))
@pytest.mark.parametrize("new", list(RequestState))
def test_only_the_legal_transitions_are_allowed(current: RequestState, new: RequestState) -> None:
    legal = {
        (RequestState.registered, RequestState.under_review),
        (RequestState.under_review, RequestState.extended),
        *((s, end) for s in (RequestState.under_review, RequestState.extended)
          for end in (RequestState.answered, RequestState.partly_refused, RequestState.refused)),
    }  # fmt: skip
    assert {(a, b) for a, nxt in TRANSITIONS.items() for b in nxt} == legal
    if (current, new) in legal:
        check_transition(current, new)
    else:
        with pytest.raises(InputError, match="kan inte bli"):
            check_transition(current, new)


@pytest.mark.no_ledger
def test_illegal_moves_through_the_ledger_are_refused_and_change_nothing(
    ledger: Ledger, samsa_file: Path
) -> None:
    identity = _person(samsa_file)[0]
    with time_machine.travel(NOON, tick=False):
        rid = _case(ledger, identity)
        audit_before = len(ledger.audit_entries())
        with pytest.raises(InputError, match="registrerad och kan inte bli avslag"):
            refuse(ledger, rid, by="Kim Handläggare", reasons="skäl")  # not reviewed yet
        with pytest.raises(InputError, match="registrerad och kan inte bli förlängd"):
            extend(ledger, rid, notice_sent_on=clock.today(), reason="många handlingar",
                   by="Kim Handläggare")  # fmt: skip
        with pytest.raises(InputError, match="sekretessprövning görs bara"):
            withhold(ledger, rid, category=Category.fritext, by="Kim Handläggare")
        assert get_request(ledger, rid).state is RequestState.registered
        assert len(ledger.audit_entries()) == audit_before
        start_review(ledger, rid, by="Kim Handläggare")
        refuse(ledger, rid, by="Eva Beslutsfattare", reasons="Uppgifterna omfattas av sekretess")
        with pytest.raises(InputError, match="avslag och kan inte bli under prövning"):
            start_review(ledger, rid, by="Kim Handläggare")  # a refused case stays refused
        with pytest.raises(InputError, match="avslag och kan inte bli förlängd"):
            extend(ledger, rid, notice_sent_on=clock.today(), reason="x", by="Kim Handläggare")


@pytest.mark.no_ledger
def test_each_kind_has_its_deadline_and_the_cli_shows_it(
    samsa_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    upgraded(url).close()
    identity = _person(samsa_file)[0]
    with time_machine.travel(NOON, tick=False):
        today = clock.today()
        assert deadline_for(RequestKind.gdpr_art15, today) == add_months(today, 1)
        assert deadline_for(RequestKind.gdpr_art15, today, extended=True) == add_months(today, 3)
        assert deadline_for(RequestKind.tf_allman_handling, today) == today + timedelta(days=3)
        assert deadline_for(RequestKind.tf_avliden, today) == today + timedelta(days=3)
        for kind in ("gdpr-art15", "tf-avliden"):
            monkeypatch.setattr("sys.stdin", io.StringIO(identity + "\n"))
            assert main(["extract", "request", "--file", "-", "--kind", kind, "--ledger", url]) == 0
        printed = capsys.readouterr().out
        assert f"gdpr-art15  Klart senast {add_months(today, 1).isoformat()}" in printed
        assert f"tf-avliden  Klart senast {(today + timedelta(days=3)).isoformat()}" in printed
        assert identity not in printed
        assert main(["extract", "status", "--ledger", url]) == 0
        status = capsys.readouterr().out
        assert "Klart senast" in status and "registrerad" in status
        assert "Tidsfristen går ut om 3 dagar" in status  # the TF request: "skyndsamt"
        monkeypatch.setattr("sys.stdin", io.StringIO(identity + "\n"))
        assert main(["extract", "request", "--file", "-", "--kind", "gdpr", "--ledger", url]) == 2
        err = capsys.readouterr().err
        assert "okänd typ av begäran 'gdpr'" in err and "tf-allman-handling" in err


@pytest.mark.no_ledger
def test_an_extension_needs_its_notice_within_the_first_month(
    ledger: Ledger, samsa_file: Path
) -> None:
    identity = _person(samsa_file)[0]
    with time_machine.travel(NOON, tick=False):
        today = clock.today()
        on_time = _case(ledger, identity, received_on=today - timedelta(days=20))
        late = _case(ledger, identity, received_on=today - timedelta(days=40))
        tf = _case(ledger, identity, RequestKind.tf_allman_handling, received_on=today)
        for rid in (on_time, late, tf):
            start_review(ledger, rid, by="Kim Handläggare")
        notice_due = add_months(today - timedelta(days=40), 1)
        with pytest.raises(InputError, match=f"för sent att förlänga.*senast {notice_due}"):
            extend(ledger, late, notice_sent_on=today, reason="omfattande", by="Kim Handläggare")
        with pytest.raises(InputError, match="kan inte förlängas: den ska handläggas skyndsamt"):
            extend(ledger, tf, notice_sent_on=today, reason="omfattande", by="Kim Handläggare")
        with pytest.raises(InputError, match="i framtiden"):
            extend(ledger, on_time, notice_sent_on=today + timedelta(days=1), reason="x",
                   by="Kim Handläggare")  # fmt: skip
        with pytest.raises(InputError, match="skälen"):
            extend(ledger, on_time, notice_sent_on=today, reason="  ", by="Kim Handläggare")
        req = extend(
            ledger,
            on_time,
            notice_sent_on=today - timedelta(days=1),
            reason="Begäran omfattar många handlingar",
            by="Kim Handläggare",
        )
        assert req.state is RequestState.extended
        assert req.deadline == add_months(today - timedelta(days=20), 3)
        assert req.extension_notice_on == today - timedelta(days=1)
        assert get_request(ledger, late).state is RequestState.under_review
        moves = [
            e.details
            for e in ledger.audit_entries()
            if e.action == "extract_request.state" and e.subject.endswith(on_time)
        ]
        assert moves[-1]["to"] == "extended" and moves[-1]["notice_sent_on"] == str(
            today - timedelta(days=1))  # fmt: skip


@pytest.mark.no_ledger
def test_a_refusal_is_a_written_decision_with_appeal_instructions(
    samsa_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = upgraded(url)
    identity = _person(samsa_file)[0]
    with time_machine.travel(NOON, tick=False):
        rid = _case(ledger, identity)
        start_review(ledger, rid, by="Kim Handläggare")
        assert (
            main(
                [
                    "extract",
                    "refuse",
                    rid,
                    "--by",
                    "Eva Beslutsfattare",
                    "--reasons",
                    "Skaderisk för närstående, OSL 25 kap. 1 §",
                    "--ledger",
                    url,
                ]
            )
            == 0
        )
        said = capsys.readouterr().out
        assert main(["extract", "case", rid, "--ledger", url]) == 0
        case = capsys.readouterr().out
    req = get_request(ledger, rid)
    assert req.state is RequestState.refused and req.decided_by == "Eva Beslutsfattare"
    assert APPEAL in req.decision_text and "förvaltningsrätten" in req.decision_text
    assert "tre veckor" in req.decision_text and "Skaderisk för närstående" in req.decision_text
    assert f"Beslut {NOON.date().isoformat()}" in req.decision_text
    assert "avslag" in said and "förvaltningsrätten" in said
    assert "Status: avslag" in case and "(bekräfta)" in case  # the assumptions are shown
    assert ledger.wait_in_progress(release_subject(rid)) is None


# -- the secrecy review and the release --------------------------------------------------------
@pytest.mark.no_ledger
def test_the_review_copy_has_everything_and_the_release_withholds_what_was_decided(
    samsa: str, samsa_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Through the CLI, as a case officer works: request, review, withhold, approve, release."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    upgraded(url).close()
    identity, relatives, staff, hsa_ids = _person(samsa_file)
    review_dir, answer_dir = tmp_path / "granskning", tmp_path / "svar"
    with time_machine.travel(NOON, tick=False):
        monkeypatch.setattr("sys.stdin", io.StringIO(identity + "\n"))
        assert main(["extract", "request", "--file", "-", "--ledger", url]) == 0
        rid = capsys.readouterr().out.split()[0]
        assert main(["extract", "review", rid, "--by", "Kim Handläggare", "--out",
                     str(review_dir), "--source", samsa, "--ledger", url]) == 0  # fmt: skip
        printed = capsys.readouterr().out
        assert "granskningsexemplar skrivet (under prövning)" in printed
        assert "att sekretesspröva: sip-deltagare" in printed
        copy = json.loads((review_dir / f"granskningsexemplar-{rid}.json").read_text("utf-8"))
        copy_html = (review_dir / f"granskningsexemplar-{rid}.html").read_text("utf-8")
        assert "GRANSKNINGSEXEMPLAR – lämnas inte ut" in copy_html and "[granska: " in copy_html
        assert all(escape(name) in copy_html for name in relatives)  # the officer sees everything
        assert not list(review_dir.glob("registerutdrag-*"))  # nothing released
        one_relative = next(i for i in copy["review_items"] if i["category"] == "sip-deltagare")
        kept = [
            p
            for p in copy["records"]["sip_participant"]
            if p["role"] != "patient" and f"sip_participant:{p['id']}" != one_relative["ref"]
        ]
        # the free text in full, and one relative's name by item
        for extra in (
            ["--category", "fritext"],
            ["--category", "sip-deltagare", "--item", one_relative["ref"]],
        ):
            assert main(["extract", "withhold", rid, *extra, "--by", "Kim Handläggare",
                         "--ledger", url]) == 0  # fmt: skip
        assert main(["extract", "approve", rid, "--approver", "Eva Beslutsfattare",
                     "--ledger", url]) == 0  # fmt: skip
        assert main(["extract", "release", rid, "--out", str(answer_dir), "--source", samsa,
                     "--ledger", url]) == 0  # fmt: skip
        released = capsys.readouterr().out
    assert "utdraget lämnat (delvis avslag)" in released
    doc = json.loads((answer_dir / f"registerutdrag-{rid}.json").read_text("utf-8"))
    page = (answer_dir / f"registerutdrag-{rid}.html").read_text("utf-8")
    # the decided withholdings, and only those
    withheld_name = next(
        p
        for p in doc["records"]["sip_participant"]
        if f"sip_participant:{p['id']}" == one_relative["ref"]
    )
    assert withheld_name["participant_name"] == WITHHELD
    assert all(
        p["participant_name"] != WITHHELD
        for p in doc["records"]["sip_participant"]
        if f"sip_participant:{p['id']}" != one_relative["ref"]
    )
    assert all(escape(p["participant_name"]) in page for p in kept)
    assert {m["body"] for m in doc["records"]["message"] if m["body"]} <= {WITHHELD}
    assert doc["review"]["withheld"]["fritext"]["grounds"] == ["OSL 25 kap. 1 §"]
    # staff names are kept, their HSA-ids are not (no decision to show them)
    assert any(escape(name) in page for name in staff)
    assert not any(h in page or h in json.dumps(doc) for h in hsa_ids)
    assert "Personalens HSA-id lämnas inte ut" in page
    # the decision, art. 15 (a)–(h), Swedish labels and Swedish local time
    assert "Beslut om delvis avslag" in page and "förvaltningsrätten" in page
    assert [i["heading"][:2] for i in doc["information"]] == [
        "a)",
        "b)",
        "c)",
        "d)",
        "e)",
        "f)",
        "g)",
        "h)",
    ]
    assert "gallringsbeslut" in page and "IMY" in page and "rättelse" in page
    assert "Skickat" in page and "sent_at" not in page and "Tidpunkt (svensk tid)" in page
    first_sent = doc["records"]["message"][0]["sent_at"]
    local = clock.local_time_text(datetime.fromisoformat(first_sent.removesuffix("Z")))
    assert local in page and first_sent not in page
    assert (answer_dir / f"registerutdrag-{rid}.pdf").read_bytes().startswith(b"%PDF")
    req = get_request(Ledger.open(url), rid)
    assert req.state is RequestState.partly_refused and req.decided_by == "Eva Beslutsfattare"
    assert "sip-deltagare" not in req.decision_text and "namn på andra deltagare" in (
        req.decision_text)  # fmt: skip
    # no personal data in the beslutslogg's audit details
    entries = json.dumps([e.details for e in Ledger.open(url).audit_entries()], ensure_ascii=False)
    assert identity not in entries and not any(n in entries for n in relatives + staff)


@pytest.mark.no_ledger
def test_a_release_without_anything_withheld_is_lamnad_and_hsa_ids_only_by_decision(
    ledger: Ledger, samsa: str, samsa_file: Path, tmp_path: Path
) -> None:
    identity, _, _, hsa_ids = _person(samsa_file)
    with time_machine.travel(NOON, tick=False):
        rid = _case(ledger, identity)
        prepare_review(ledger, rid, by="Kim Handläggare", out_dir=tmp_path, source_url=samsa)
        set_staff_hsa(ledger, rid, show=True, by="Kim Handläggare")
        approve_release(ledger, rid, approver="Eva Beslutsfattare")
        answer = release_request(ledger, rid, out_dir=tmp_path, source_url=samsa)
    assert answer.state == "answered"
    doc = json.loads(answer.files["json"].read_text("utf-8"))
    assert {a["user_hsa_id"] for a in doc["access_log"]} <= set(hsa_ids) and doc["access_log"]
    assert doc["case"]["decision"] == "" and doc["review"]["withheld"] == {}
    assert get_request(ledger, rid).state is RequestState.answered


# -- attacks on the release ----------------------------------------------------------------
@pytest.mark.no_ledger
def test_no_release_without_an_approval_of_this_case_and_this_review(
    ledger: Ledger, samsa: str, samsa_file: Path, tmp_path: Path
) -> None:
    identity = _person(samsa_file)[0]
    out = tmp_path / "svar"

    def release(rid: str) -> None:
        release_request(ledger, rid, out_dir=out, source_url=samsa)

    with time_machine.travel(NOON, tick=False):
        mine, other = _case(ledger, identity), _case(ledger, identity)
        with pytest.raises(CheckFailed, match="registrerad: det finns inget att lämna ut"):
            release(mine)  # not even reviewed
        for rid in (mine, other):
            start_review(ledger, rid, by="Kim Handläggare")
        with pytest.raises(CheckFailed, match="inte godkänt"):
            release(mine)  # no approval at all
        approve_release(ledger, other, approver="Eva Beslutsfattare")
        with pytest.raises(CheckFailed, match="inte godkänt"):
            release(mine)  # another case's approval
        approve_release(ledger, mine, approver="Eva Beslutsfattare", approved=False,
                        comment="Granska fritexten först")  # fmt: skip
        with pytest.raises(CheckFailed, match="avslogs av Eva Beslutsfattare"):
            release(mine)  # a refused approval
        approve_release(ledger, mine, approver="Eva Beslutsfattare")
        withhold(ledger, mine, category=Category.fritext, by="Kim Handläggare")
        with pytest.raises(CheckFailed, match="inte godkänt"):
            release(mine)  # the review changed after the approval
        with ledger.unit_of_work() as s:  # a row inserted by hand, no audit entry backs it
            from models.ledger import Approval

            s.add(Approval(subject=release_subject(mine), kind="approval", approver="Mallory",
                           approved=True, comment="", audit_seq=None))  # fmt: skip
        with pytest.raises(CheckFailed, match="inte godkänt"):
            release(mine)
        assert not out.exists()  # nothing was written by any attempt
        assert get_request(ledger, mine).state is RequestState.under_review
        approve_release(ledger, mine, approver="Eva Beslutsfattare")
        refuse(ledger, mine, by="Eva Beslutsfattare", reasons="Hela begäran omfattas av sekretess")
        with pytest.raises(CheckFailed, match="avslag: det finns inget att lämna ut"):
            release(mine)  # refused after the approval: the approval counts no more
        with pytest.raises(InputError, match="avslag: sekretessprövning görs bara"):
            approve_release(ledger, mine, approver="Eva Beslutsfattare")
    assert not out.exists()
    assert get_request(ledger, other).state is RequestState.under_review


@pytest.mark.no_ledger
def test_the_cli_refuses_a_release_without_approval_in_one_line(
    samsa: str, samsa_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = upgraded(url)
    rid = _case(ledger, _person(samsa_file)[0])
    assert main(["extract", "release", rid, "--source", samsa, "--out", str(tmp_path / "o"),
                 "--ledger", url]) == 1  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert "det finns inget att lämna ut" in err and "Traceback" not in err
    assert main(["extract", "approve", rid, "--approver", "Eva", "--ledger", url]) == 2
    assert "sekretessprövning görs bara" in capsys.readouterr().err
    assert main(["extract", "withhold", rid, "--category", "anhöriga", "--by", "Kim",
                 "--ledger", url]) == 2  # fmt: skip
    assert "okänd kategori 'anhöriga'" in capsys.readouterr().err
    start_review(ledger, rid, by="Kim")
    assert main(["extract", "withhold", rid, "--category", "fritext", "--item", "person:1",
                 "--by", "Kim", "--ledger", url]) == 2  # fmt: skip
    assert "ange tabell:id för kategorin fritext (message:ID" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# -- one run per case -------------------------------------------------------------------------
@pytest.mark.no_ledger
def test_two_runs_cannot_act_on_one_case_at_once(
    ledger: Ledger, samsa: str, samsa_file: Path, tmp_path: Path
) -> None:
    identity = _person(samsa_file)[0]
    with time_machine.travel(NOON, tick=False):
        rid = _case(ledger, identity)
        start_review(ledger, rid, by="Kim Handläggare")
        approve_release(ledger, rid, approver="Eva Beslutsfattare")
        other = _case(ledger, identity)
        with case_lease(ledger, rid):  # another run holds the case
            with pytest.raises(CheckFailed, match="hanteras just nu av en annan körning"):
                release_request(ledger, rid, out_dir=tmp_path / "a", source_url=samsa)
            with pytest.raises(CheckFailed, match="hanteras just nu"):
                withhold(ledger, rid, category=Category.personal, by="Kim Handläggare")
            start_review(ledger, other, by="Kim Handläggare")  # another case is free
        assert not (tmp_path / "a").exists()

        # two concurrent attempts to release: exactly one releases
        results: list[str] = []
        barrier = threading.Barrier(2)

        def attempt(name: str) -> None:
            barrier.wait()
            try:
                release_request(ledger, rid, out_dir=tmp_path / name, source_url=samsa)
                results.append("released")
            except CheckFailed as exc:
                results.append(str(exc))

        threads = [threading.Thread(target=attempt, args=(n,)) for n in ("x", "y")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results.count("released") == 1 and len(results) == 2
    refused = next(r for r in results if r != "released")
    assert "hanteras just nu" in refused or "det finns inget att lämna ut" in refused
    assert len(list(tmp_path.glob("[xy]/registerutdrag-*.json"))) == 1
    released = [e for e in ledger.audit_entries() if e.action == "extract_request.state"
                and e.subject.endswith(rid) and e.details["to"] == "answered"]  # fmt: skip
    assert len(released) == 1


# -- the words and the time --------------------------------------------------------------------
def test_times_are_swedish_local_time_to_the_minute() -> None:
    assert shown("sent_at", "2026-03-01T12:00:00Z") == "2026-03-01 13:00"  # winter: UTC+1
    assert shown("sent_at", "2026-07-01T12:00:00.5Z") == "2026-07-01 14:00"  # summer: UTC+2
    assert shown("sent_at", "2026-12-31T23:30:00Z") == "2027-01-01 00:30"  # the next day
    assert shown("due_on", "2026-03-01") == "2026-03-01"  # a date stays a date
    assert shown("kind", "admission_notice") == "inskrivningsmeddelande"
    assert shown("read", True) == "ja"
    content = base64.b64encode(bytes(1024)).decode()
    assert shown("content", content) == "1024 byte (finns i JSON-filen)"


def test_the_migration_matches_the_case_tables(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models.ledger import Base

    led = upgraded(db_url)
    try:
        with led.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        led.close()
    mine = [d for d in diff if "person_request" in repr(d) or "extract_withholding" in repr(d)]
    assert mine == []


@pytest.mark.no_ledger
def test_a_deceased_persons_request_is_a_tf_request_without_art15_rights(
    samsa: str, samsa_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """GDPR does not apply to the dead: the review says so for an art. 15 request, and a
    tf-avliden request is answered as public documents, without the art. 15 rights."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = upgraded(url)
    con = sqlite3.connect(samsa_file)
    [(identity,)] = con.execute("select identity from person where deceased_on is not null "
                                "order by id limit 1").fetchall()  # fmt: skip
    con.close()
    with time_machine.travel(NOON, tick=False):
        wrong = _case(ledger, identity)
        assert main(["extract", "review", wrong, "--by", "Kim Handläggare", "--source", samsa,
                     "--out", str(tmp_path / "g"), "--ledger", url]) == 0  # fmt: skip
        said = capsys.readouterr().out
        assert "OBS: personen är avliden: GDPR gäller inte" in said and "tf-avliden" in said
        rid = _case(ledger, identity, RequestKind.tf_avliden)
        prepare_review(ledger, rid, by="Kim Handläggare", out_dir=tmp_path, source_url=samsa)
        approve_release(ledger, rid, approver="Eva Beslutsfattare")
        answer = release_request(ledger, rid, out_dir=tmp_path, source_url=samsa)
    doc = json.loads(answer.files["json"].read_text("utf-8"))
    page = answer.files["html"].read_text("utf-8")
    assert [i["heading"] for i in doc["information"]] == ["Om begäran"]
    assert "GDPR) gäller inte uppgifter om avlidna" in page and "IMY" not in page
    assert "Allmänna handlingar ur SAMSA IT-tjänst" in page
    assert doc["case"]["deadline"] == (NOON.date() + timedelta(days=3)).isoformat()


@pytest.mark.no_ledger
def test_a_form_answer_for_a_review_that_changed_since_does_not_count(
    ledger: Ledger, samsa_file: Path
) -> None:
    """The form showed one review; the case officer withheld more before it was answered."""
    rid = _case(ledger, _person(samsa_file)[0])
    start_review(ledger, rid, by="Kim Handläggare")
    shown_wait = ledger.wait_in_progress(release_subject(rid))
    withhold(ledger, rid, category=Category.fritext, by="Kim Handläggare")
    with pytest.raises(CheckFailed, match="ändrades medan formuläret var öppet"):
        approve_release(ledger, rid, approver="Eva Beslutsfattare", expected_wait=shown_wait)
    assert ledger.approvals(release_subject(rid)) == []


def _resume_paused(answer: dict[str, object], before: object = None) -> None:
    import time

    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run

    end = time.monotonic() + 90
    while time.monotonic() < end:
        with get_client(sync_client=True) as client:
            paused = [r for r in client.read_flow_runs() if r.state and r.state.is_paused()]
        if paused:
            if callable(before):
                before()
            resume_flow_run(paused[0].id, run_input=answer)
            return
        time.sleep(0.5)
    raise AssertionError("the approve-extract-release run never paused for its form")


@pytest.mark.prefect
def test_the_release_is_decided_in_a_prefect_form_for_the_review_it_showed(
    prefect_harness: None,
) -> None:
    from flows.extracts import approve_extract_release, extract_person_register
    from models.settings import get_settings

    settings = get_settings()
    Path(settings.home).mkdir(parents=True, exist_ok=True)
    generate(settings.resolved_source_url(), scale=1500, seed=5)
    source = Path(settings.resolved_source_url().removeprefix("sqlite:///"))
    identity = _person(source)[0]
    ledger = Ledger.open(settings.resolved_ledger_url())
    rid = _case(ledger, identity)
    assert extract_person_register(rid)["step"] == "review"
    waiting = extract_person_register(rid)
    assert waiting["step"] == "waiting" and "inte godkänt" in waiting["waiting_for"]

    # the review changes while the form is open: the answer does not count
    def change() -> None:
        withhold(ledger, rid, category=Category.fritext, by="Kim Handläggare")

    yes = {"approver": "Eva Beslutsfattare", "approved": True, "comment": "Prövat"}
    resumer = threading.Thread(target=_resume_paused, args=(yes, change))
    resumer.start()
    with pytest.raises(Exception, match="ändrades medan formuläret var öppet"):
        approve_extract_release(rid, timeout_seconds=120)
    resumer.join()
    assert extract_person_register(rid)["step"] == "waiting"

    resumer = threading.Thread(target=_resume_paused, args=(yes,))
    resumer.start()
    assert approve_extract_release(rid, timeout_seconds=120) == (
        "utlämnandet godkänt av Eva Beslutsfattare")  # fmt: skip
    resumer.join()
    [approval] = ledger.approvals(release_subject(rid))
    assert approval.flow_run_id and approval.comment == "Prövat"
    released = extract_person_register(rid)
    assert released["step"] == "released" and released["state"] == "partly_refused"
    assert get_request(ledger, rid).state is RequestState.partly_refused
    assert ledger.verify_audit().ok


@pytest.mark.no_ledger
def test_bad_case_input_is_one_line_and_exit_2(
    samsa_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A personnummer as the approver's name, a date that is no date, an unknown request."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = upgraded(url)
    identity = _person(samsa_file)[0]
    rid = _case(ledger, identity)
    start_review(ledger, rid, by="Kim Handläggare")
    audit_before = len(ledger.audit_entries())
    for argv, said in [
        (["approve", rid, "--approver", identity], "identity"),
        (["extend", rid, "--notice-sent", "14/2", "--reason", "x", "--by", "Kim"],
         "--notice-sent '14/2': inte ett datum"),
        (["case", "00000000-0000-4000-8000-000000000000"], "ingen begäran om registerutdrag"),
        (["refuse", rid, "--reasons", " ", "--by", "Kim"], "ett avslag måste motiveras"),
    ]:  # fmt: skip
        assert main(["extract", *argv, "--ledger", url]) == 2, argv
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err and identity not in err
        assert len(err.strip().splitlines()) == 1
    assert len(ledger.audit_entries()) == audit_before  # nothing was written


def test_requests_made_before_the_case_states_keep_their_meaning(db_url: str) -> None:
    """A ledger with requests registered and answered before the migration: after it, they
    are art. 15 requests, registrerad and lämnad, with no withholdings."""
    from sqlalchemy import text

    from models.ledger import upgrade_ledger

    upgrade_ledger(db_url, "0003_extracts")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        for rid, state in (("11111111-1111-4111-8111-111111111111", "registered"),
                           ("22222222-2222-4222-8222-222222222222", "answered")):  # fmt: skip
            conn.execute(
                text("INSERT INTO person_request (request_id, identity, identity_kind, "
                     "received_on, deadline, state, registered_by) VALUES (:r, '', "
                     "'personnummer', '2026-01-05', '2026-02-05', :s, '')"),
                {"r": rid, "s": state},
            )  # fmt: skip
    engine.dispose()
    ledger = upgraded(db_url)
    old_open = get_request(ledger, "11111111-1111-4111-8111-111111111111")
    old_answered = get_request(ledger, "22222222-2222-4222-8222-222222222222")
    assert (old_open.kind, old_open.state) == ("gdpr-art15", RequestState.registered)
    assert (old_answered.kind, old_answered.state) == ("gdpr-art15", RequestState.answered)
    assert old_answered.decision_text == "" and old_answered.show_staff_hsa is False
    assert ledger.deliveries.withholdings(old_open.request_id) == []
    assert [r.request_id for r in ledger.deliveries.open_requests()] == [old_open.request_id]


# -- who approved: the one-time code to the approver's own channel ----------------------------
@pytest.mark.no_ledger
def test_a_release_counts_only_with_the_code_sent_to_the_approvers_own_channel(
    ledger: Ledger, samsa: str, samsa_file: Path, tmp_path: Path,
    approver_inbox: object, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from approver_inbox import TAG, Inbox

    from models.settings import get_settings
    from tasks.extracts.case import send_release_code

    inbox = approver_inbox
    assert isinstance(inbox, Inbox)
    monkeypatch.setenv("SAMSA_DECOM_EXTRACT_APPROVER_CHANNEL", TAG)
    get_settings.cache_clear()
    out = tmp_path / "svar"
    with time_machine.travel(NOON, tick=False):
        rid = _case(ledger, _person(samsa_file)[0])
        start_review(ledger, rid, by="Kim Handläggare")
        with pytest.raises(InputError, match="Engångskod krävs"):
            approve_release(ledger, rid, approver="Eva Beslutsfattare")
        # a genuine, audit-backed approval given past the code does not count
        subject = release_subject(rid)
        with ledger.unit_of_work() as s:
            ledger.record_approval(s, subject=subject, kind="approval", approver="Mallory",
                                   approved=True, wait=ledger.wait_in_progress(subject, s))
        with pytest.raises(CheckFailed, match="inte godkänt"):
            release_request(ledger, rid, out_dir=out, source_url=samsa)

        sent = send_release_code(ledger, rid)
        assert sent is not None and sent.delivered and sent.issued.channel == TAG
        assert send_release_code(ledger, rid) is None  # one live code per wait
        code = inbox.code()
        assert inbox.everyone.posts == []  # an untagged channel never gets a code
        wrong = "ABCD-EFGH" if code != "ABCD-EFGH" else "EFGH-ABCD"
        with pytest.raises(InputError):
            approve_release(ledger, rid, approver="Mallory", code=wrong)
        a = approve_release(ledger, rid, approver="Eva Beslutsfattare", code=code)
        assert a.approved
        with pytest.raises(InputError):  # the code works once
            approve_release(ledger, rid, approver="Mallory", code=code)
        entry = next(e for e in ledger.audit_entries() if e.seq == a.audit_seq)
        assert (entry.details or {}).get("code_channel") == TAG  # which channel, never the URL
        release_request(ledger, rid, out_dir=out, source_url=samsa)
    assert get_request(ledger, rid).state is RequestState.answered
    assert any(out.rglob("*"))


@pytest.mark.no_ledger
def test_the_cli_approve_sends_a_code_and_decides_only_with_it(
    samsa_file: Path, tmp_path: Path, approver_inbox: object,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from approver_inbox import TAG, Inbox

    from models.settings import get_settings

    inbox = approver_inbox
    assert isinstance(inbox, Inbox)
    monkeypatch.setenv("SAMSA_DECOM_EXTRACT_APPROVER_CHANNEL", TAG)
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = upgraded(url)
    rid = _case(ledger, _person(samsa_file)[0])
    start_review(ledger, rid, by="Kim")
    assert main(["extract", "approve", rid, "--approver", "Eva", "--ledger", url]) == 2
    err = capsys.readouterr().err
    assert f"en ny engångskod skickades till kanalen '{TAG}'" in err and "--code" in err
    code = inbox.code()
    assert code not in err  # the code goes only to the approver's channel
    assert main(["extract", "approve", rid, "--approver", "Eva", "--code", "ZZZZ-ZZZZ",
                 "--ledger", url]) == 2  # fmt: skip
    assert main(["extract", "approve", rid, "--approver", "Eva", "--code", code,
                 "--ledger", url]) == 0  # fmt: skip
    assert "utlämnandet godkänt av Eva" in capsys.readouterr().out
