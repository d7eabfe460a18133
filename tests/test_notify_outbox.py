"""The outbox against real channels: an SMTP server (aiosmtpd) and an HTTP receiver for
apprise's ``json://``, both on loopback. Nothing is lost, nothing is doubled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from ledgers import upgraded
from notify_receivers import HttpReceiver, SmtpReceiver

from models.errors import InputError
from models.ledger import Ledger
from models.milestone import MilestoneState
from tasks.notify.channels import Router
from tasks.notify.decide import MilestoneView, Notice, NotifyPolicy
from tasks.notify.outbox import deliver, enqueue, outbox, send_notice
from tasks.notify.run import notify_once


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    r = HttpReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    r = SmtpReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    led = upgraded(db_url)
    yield led
    led.close()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = upgraded(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield led
    led.close()


def _queue(ledger: Ledger, *notices: Notice) -> tuple[int, int]:
    with ledger.unit_of_work() as s:
        return enqueue(ledger, s, notices)


def test_routing_by_tag_to_email_and_webhooks(
    ledger: Ledger, http: HttpReceiver, smtp: SmtpReceiver
) -> None:
    router = Router.from_sources(
        [
            f"projektledning={http.url('/pl')}",
            f"kommuner,regionarkivet={http.url('/kommuner')}",
            f"eskalering={smtp.url('styrgrupp@example.org')}",
        ]
    )
    _queue(
        ledger,
        Notice("due:a:7:2027-03-15", "projektledning", "Milstolpe om 7 dagar: A", "kropp A"),
        Notice("due:b:1:2027-03-09", "kommuner", "Milstolpe om 1 dag: B", "kropp B"),
        Notice("overdue:c:2:2027-01-01", "eskalering", "Eskalering: C", "Klart senast: 1 januari"),
    )
    report = deliver(ledger, router)
    assert (report.sent, report.failed, report.messages) == (3, 0, 3)
    assert [p["title"] for p in http.at("/pl")] == ["Milstolpe om 7 dagar: A"]
    assert [(p["title"], p["message"]) for p in http.at("/kommuner")] == [
        ("Milstolpe om 1 dag: B", "kropp B")
    ]
    (mail,) = smtp.mails
    assert mail.to == ["styrgrupp@example.org"]
    assert mail.subject == "Eskalering: C"
    assert "Klart senast: 1 januari" in mail.body
    rows = outbox(ledger)
    assert {r.status.value for r in rows} == {"sent"}
    assert all(r.attempts == 1 and r.sent_at is not None for r in rows)
    assert ledger.verify_audit().ok
    actions = Counter(e.action for e in ledger.audit_entries())
    assert actions == {"notice.queued": 3, "notice.sent": 3}


def test_the_same_notice_is_never_queued_or_sent_twice(ledger: Ledger, http: HttpReceiver) -> None:
    router = Router.from_sources([http.url("/all")])  # no tag: receives every notice
    n = Notice("due:a:7:2027-03-15", "projektledning", "S", "B")
    assert _queue(ledger, n) == (1, 0)
    assert _queue(ledger, n, n) == (0, 2)
    deliver(ledger, router)
    deliver(ledger, router)
    assert _queue(ledger, n) == (0, 1)
    deliver(ledger, router)
    assert len(http.at("/all")) == 1
    assert len(outbox(ledger)) == 1


def test_smtp_down_loses_nothing_and_each_pending_notice_arrives_once_after_restart(
    ledger: Ledger, smtp: SmtpReceiver
) -> None:
    def router() -> Router:  # each run builds its channels anew, as a new process would
        return Router.from_sources(
            [f"projektledning={smtp.url('pl@example.org')}"], throttle_seconds=0
        )

    smtp.stop()
    _queue(
        ledger,
        *(Notice(f"due:m{i}:7:2027-03-15", "projektledning", f"S{i}", "B") for i in range(3)),
    )
    for _ in range(2):  # two runs while the mail server is down
        report = deliver(ledger, router())
        assert (report.sent, report.failed) == (0, 3)
    rows = outbox(ledger)
    assert [(r.status.value, r.attempts) for r in rows] == [("failed", 2)] * 3
    assert all(r.last_error for r in rows)
    smtp.start()  # the same port again
    report = deliver(ledger, router())
    assert (report.sent, report.failed) == (3, 0)
    deliver(ledger, router())
    assert sorted(m.subject for m in smtp.mails) == ["S0", "S1", "S2"]
    assert [r.status.value for r in outbox(ledger, "sent")] == ["sent"] * 3


def test_a_failed_channel_is_retried_without_repeating_the_one_that_accepted(
    sqlite_ledger: Ledger, http: HttpReceiver, smtp: SmtpReceiver
) -> None:
    def router() -> Router:
        return Router.from_sources(
            [f"kommuner={http.url('/chat')}", f"kommuner={smtp.url('kommuner@example.org')}"]
        )

    smtp.stop()
    gate = Notice("gate:norr:open:2027-02-02", "kommuner", "Förutsättning uppfylld", "B")
    _queue(sqlite_ledger, gate)
    assert deliver(sqlite_ledger, router()).failed == 1
    (row,) = outbox(sqlite_ledger)
    assert row.status.value == "failed" and len(row.delivered_to) == 1
    smtp.start()
    assert deliver(sqlite_ledger, router()).sent == 1
    assert len(http.at("/chat")) == 1  # the chat had it already: not sent again
    assert len(smtp.mails) == 1


def test_a_channel_carrying_several_tags_gets_a_shared_notice_once(
    sqlite_ledger: Ledger, http: HttpReceiver
) -> None:
    router = Router.from_sources([f"projektledning,kommuner,eskalering={http.url('/pl')}"])
    key = "overdue:m:2:2027-03-15"
    _queue(
        sqlite_ledger,
        Notice(key, "projektledning", "Försenad milstolpe", "B"),
        Notice(key, "kommuner", "Försenad milstolpe", "B"),
    )
    assert deliver(sqlite_ledger, router).sent == 2
    _queue(sqlite_ledger, Notice(key, "eskalering", "Eskalering, försenad milstolpe", "B"))
    assert deliver(sqlite_ledger, router).sent == 1  # different words: it is news
    assert [p["title"] for p in http.at("/pl")] == [
        "Försenad milstolpe",
        "Eskalering, försenad milstolpe",
    ]


def test_two_runs_at_once_send_each_notice_once(ledger: Ledger, http: HttpReceiver) -> None:
    import threading

    _queue(ledger, *(Notice(f"k{i}", "projektledning", f"S{i}", "B") for i in range(20)))
    router = Router.from_sources([f"projektledning={http.url('/pl')}"])
    reports = []
    threads = [
        threading.Thread(target=lambda: reports.append(deliver(ledger, router))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in reports) == 20
    assert sorted(p["title"] for p in http.at("/pl")) == sorted(f"S{i}" for i in range(20))


def test_two_runs_deciding_the_same_notices_at_once_queue_each_once(
    ledger: Ledger, http: HttpReceiver
) -> None:
    import threading

    views = [
        MilestoneView(
            id=f"m{i}", title=f"M{i}", tags=("projektledning", "kommuner"), due=date(2027, 3, 15)
        )
        for i in range(40)
    ]
    router = Router.from_sources(
        [f"projektledning={http.url('/pl')}", f"kommuner={http.url('/k')}"]
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            notify_once(ledger, views, date(2027, 3, 8), NotifyPolicy(), router, providers=[])
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(outbox(ledger)) == 80
    assert len(http.at("/pl")) == 40 and len(http.at("/k")) == 40


def test_the_migration_matches_the_tables(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models.ledger import Base

    led = upgraded(db_url)
    try:
        with led.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        led.close()
    mine = [d for d in diff if "notice_" in repr(d)]
    assert mine == []


def test_a_notice_abandoned_mid_send_is_taken_over_after_the_claim_expires(
    sqlite_ledger: Ledger, http: HttpReceiver
) -> None:
    from models.ledger import NoticeOutbox, NoticeStatus, utcnow
    from tasks.notify.outbox import STALE_CLAIM

    _queue(sqlite_ledger, Notice("k", "projektledning", "S", "B"))
    router = Router.from_sources([f"projektledning={http.url('/pl')}"])
    with sqlite_ledger.unit_of_work() as s:  # a run claimed it, then its process died
        row = s.query(NoticeOutbox).one()
        row.status, row.claimed_at = NoticeStatus.sending, utcnow()
    assert deliver(sqlite_ledger, router).sent == 0  # still someone else's
    with sqlite_ledger.unit_of_work() as s:
        s.query(NoticeOutbox).one().claimed_at = utcnow() - STALE_CLAIM - timedelta(seconds=1)
    assert deliver(sqlite_ledger, router).sent == 1
    assert [p["title"] for p in http.at("/pl")] == ["S"]


def test_a_tag_without_any_channel_stays_queued_with_a_clear_error(
    sqlite_ledger: Ledger, http: HttpReceiver
) -> None:
    router = Router.from_sources([f"projektledning={http.url('/pl')}"])
    _queue(sqlite_ledger, Notice("k", "kommuner", "S", "B"))
    report = deliver(sqlite_ledger, router)
    assert report.errors == ["no apprise channel carries the tag 'kommuner'"]
    (row,) = outbox(sqlite_ledger)
    assert row.status.value == "failed"
    assert row.last_error == "no apprise channel carries the tag 'kommuner'"


def test_digest_sends_one_message_per_tag_per_run(
    sqlite_ledger: Ledger, http: HttpReceiver
) -> None:
    router = Router.from_sources(
        [f"projektledning={http.url('/pl')}", f"kommuner={http.url('/k')}"]
    )
    _queue(
        sqlite_ledger,
        *(
            Notice(f"due:m{i}:7:2027-03-15", "projektledning", f"Milstolpe {i}", f"kropp {i}")
            for i in range(3)
        ),
        Notice("due:x:1:2027-03-09", "kommuner", "Bara en", "kropp"),
    )
    report = deliver(sqlite_ledger, router, digest=True)
    assert (report.sent, report.messages) == (4, 2)
    (pl,) = http.at("/pl")
    assert pl["title"] == "Sammanfattning: 3 aviseringar"
    assert "1. Milstolpe 0\nkropp 0" in pl["message"] and "3. Milstolpe 2" in pl["message"]
    assert [p["title"] for p in http.at("/k")] == ["Bara en"]


def test_apprise_yaml_configuration_routes_by_tag(
    sqlite_ledger: Ledger, http: HttpReceiver, tmp_path: Path
) -> None:
    cfg = tmp_path / "apprise.yaml"
    cfg.write_text(
        "version: 1\nurls:\n"
        f"  - {http.url('/pl')}:\n      - tag: projektledning\n"
        f"  - {http.url('/esk')}:\n      - tag: eskalering, projektledning\n",
        encoding="utf-8",
    )
    router = Router.from_sources(config=cfg)
    _queue(
        sqlite_ledger,
        Notice("a", "projektledning", "till båda", "B"),
        Notice("b", "eskalering", "bara esk", "B"),
    )
    deliver(sqlite_ledger, router)
    assert [p["title"] for p in http.at("/pl")] == ["till båda"]
    assert sorted(p["title"] for p in http.at("/esk")) == ["bara esk", "till båda"]


def test_bad_apprise_configuration_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        Router.from_sources(config=tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nurls: [ {{{\n", encoding="utf-8")
    with pytest.raises(InputError, match="no usable apprise URL"):
        Router.from_sources(config=bad)
    with pytest.raises(InputError, match="apprise URL not understood: nosuch://"):
        Router.from_sources(["nosuch://secret@host"])


def test_the_example_configuration_routes_every_tag_the_plan_uses() -> None:
    from models.plan import load_plan
    from models.settings import PLAN_DIR

    root = Path(__file__).resolve().parent.parent
    router = Router.from_sources(config=root / "deploy" / "apprise.example.yaml")
    plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
    used = {t for m in plan.milestones for t in m.notify}
    wanted = {"projektledning", "integrationsansvariga", "kommuner", "regionarkivet", "eskalering"}
    assert {t for t in used | wanted if not router.for_tag(t)} == set()
    kinds = {c.label.split("://")[0] for _, c in router.channels}
    assert kinds == {"mailtos", "workflow", "slack", "matrixs", "jsons"}


def test_send_notice_for_other_areas_goes_through_the_same_outbox(
    sqlite_ledger: Ledger, http: HttpReceiver
) -> None:
    router = Router.from_sources([f"integrationsansvariga={http.url('/int')}"])
    args = (
        "integrationsansvariga",
        "integration-failed:elvis:revoke:2027-03-01",
        "Integration misslyckades: Elvis",
        "Steget revoke svarade 503 för 19121212-1212.",
    )
    assert send_notice(sqlite_ledger, *args, router=router) is True
    assert send_notice(sqlite_ledger, *args, router=router) is True  # already sent: not again
    (post,) = http.at("/int")
    assert post["message"] == "Steget revoke svarade 503 för 19121212-****."
    http.fail = True
    assert (
        send_notice(sqlite_ledger, "integrationsansvariga", "k2", "S", "B", router=router) is False
    )
    http.fail = False
    assert deliver(sqlite_ledger, router).sent == 1  # the next run carries it


# ---------------------------------------------------------------------------------------
# A whole plan year, day by day
# ---------------------------------------------------------------------------------------
YEAR_START = date(2027, 1, 1)


def _year_plan() -> list[MilestoneView]:
    tags = ("projektledning",)
    return [
        MilestoneView(
            id=f"m{i:02d}",
            title=f"Milstolpe {i}",
            tags=tags,
            due=YEAR_START + timedelta(days=20 + 30 * i),
        )
        for i in range(11)
    ]


def test_rehearsal_over_a_plan_year_sends_each_threshold_exactly_once(
    sqlite_ledger: Ledger, http: HttpReceiver
) -> None:
    """365 runs with ``as_of`` day by day: every milestone is done on its due day except
    m05 (left overdue for good); m03's date slips by 21 days on 10 April."""
    policy = NotifyPolicy(overdue_every_days=7, escalate_after_days=14)
    router = Router.from_sources(
        [f"projektledning={http.url('/pl')}", f"eskalering={http.url('/esk')}"]
    )
    views = _year_plan()
    slipped_on = date(2027, 4, 10)  # 11 days before m03 was due
    for offset in range(365):
        day = YEAR_START + timedelta(days=offset)
        states = sqlite_ledger.states()
        today = []
        for v in views:
            due = v.due
            if v.id == "m03" and day >= slipped_on:
                due = v.due + timedelta(days=21)  # type: ignore[operator]
            final = v.id in states and states[v.id].state.final
            today.append(MilestoneView(id=v.id, title=v.title, tags=v.tags, due=due, final=final))
        run = notify_once(sqlite_ledger, today, day, policy, router, providers=[])
        assert run.report.failed == 0, run.report.errors
        with sqlite_ledger.unit_of_work() as s:  # people finish their milestones on time
            for v in today:
                if v.due == day and v.id != "m05":
                    sqlite_ledger.set_state(s, v.id, MilestoneState.done, reason="klar")
    titles = Counter((path, p["title"]) for path, p in http.posts)
    assert max(titles.values()) == 1, "a message arrived twice"
    rows = outbox(sqlite_ledger)
    assert all(r.status.value == "sent" for r in rows)
    assert len(http.posts) == len(rows)
    # every milestone: 30, 14, 7, 1 days before and on the day, once each (m00 is due on
    # 21 January: the first run sees 20 days left and catches the 30-day notice up once)
    for v in views:
        due = v.due if v.id != "m03" else v.due + timedelta(days=21)  # type: ignore[operator]
        got = sorted(
            int(r.notice_key.split(":")[2])
            for r in rows
            if r.notice_key.startswith(f"due:{v.id}:") and r.notice_key.endswith(due.isoformat())
        )
        assert got == [0, 1, 7, 14, 30], v.id
    # m03: the old date had its 30 and 14 reminders before the slip, one slip notice
    # names old and new date, and the new date's five reminders follow
    old = views[3].due
    assert old is not None
    new = old + timedelta(days=21)
    m03_old = sorted(r.notice_key for r in rows if r.notice_key.endswith(f":{old.isoformat()}"))
    assert m03_old == [f"due:m03:14:{old}", f"due:m03:30:{old}"]
    (slip,) = [r for r in rows if r.kind == "slip"]
    assert slip.notice_key == f"slip:m03:{old}:{new}"
    assert "21 april 2027 → 12 maj 2027" in slip.subject
    # m05 stays overdue: a reminder every 7 days, escalated from day 14
    m05 = [r for r in rows if r.notice_key.startswith("overdue:m05")]
    due05 = views[5].due
    assert due05 is not None
    days_late = (YEAR_START + timedelta(days=364) - due05).days
    expected_reminders = (days_late - 1) // 7 + 1
    assert len([r for r in m05 if r.tag == "projektledning"]) == expected_reminders
    assert len([r for r in m05 if r.tag == "eskalering"]) == expected_reminders - 1
    assert len(http.at("/esk")) == expected_reminders - 1
    assert not [
        r for r in rows if r.notice_key.startswith("overdue:") and "m05" not in r.notice_key
    ]
