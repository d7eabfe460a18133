"""Which notices are due: thresholds, overdue and escalation, slips, gates, waiting decisions,
deadlines of other areas, and the words (Swedish by default, English by setting)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import pytest

from models.errors import InputError
from models.identity import scrub_identities
from tasks.notify.decide import (
    Deadline,
    DeadlineProvider,
    MilestoneView,
    NotifyPolicy,
    Snapshot,
    decide_notices,
    reminder_step,
)
from tasks.notify.words import format_date, working_days_between

POLICY = NotifyPolicy(ui_url="http://prefect.example:4200")
DUE = date(2027, 3, 15)


def archive_milestone(**kw: object) -> MilestoneView:
    base: dict[str, object] = dict(
        id="archive-delivered",
        title="Arkivpaket levererat till Regionarkivet",
        owner="Projektledare arkiv",
        tags=("projektledning", "regionarkivet"),
        due=DUE,
    )
    base.update(kw)
    return MilestoneView(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("left", "step"),
    [(31, None), (30, 30), (20, 30), (15, 30), (14, 14), (8, 14), (7, 7), (2, 7), (1, 1), (0, 0)],
)
def test_days_left_belong_to_the_tightest_threshold_reached(left: int, step: int | None) -> None:
    assert reminder_step(left, (30, 14, 7, 1)) == step


def test_a_daily_run_gives_one_key_per_threshold_and_tag() -> None:
    m = archive_milestone()
    keys: set[tuple[str, str]] = set()
    for back in range(45, -1, -1):
        keys |= {(n.key, n.tag) for n in decide_notices([m], {}, DUE - timedelta(back), POLICY)}
    expected = {
        (f"due:archive-delivered:{t}:2027-03-15", tag)
        for t in (30, 14, 7, 1, 0)
        for tag in ("projektledning", "regionarkivet")
    }
    assert keys == expected


def test_reminder_text_names_milestone_date_working_days_owner_and_link() -> None:
    # Monday 8 March 2027 -> Monday 15 March: 5 working days, 7 calendar days
    (n, _) = decide_notices([archive_milestone()], {}, date(2027, 3, 8), POLICY)
    assert (
        n.subject == "Milstolpe om 7 dagar: Arkivpaket levererat till Regionarkivet (15 mars 2027)"
    )
    assert "Klart senast: 15 mars 2027" in n.body
    assert "Kvar: 5 arbetsdagar (7 kalenderdagar)" in n.body
    assert "Ansvarig: Projektledare arkiv" in n.body
    assert n.body.endswith("Länk: http://prefect.example:4200/deployments")
    assert n.lang == "sv"


def test_english_by_setting_and_link_to_the_notify_run() -> None:
    policy = NotifyPolicy(lang="en", ui_url="http://ui", flow_run_id="abc-123")
    (n, _) = decide_notices([archive_milestone()], {}, DUE, policy)
    assert (
        n.subject == "Milestone due today: Arkivpaket levererat till Regionarkivet (15 March 2027)"
    )
    assert "Left: 0 working days (0 calendar days)" in n.body
    assert n.body.endswith("Link: http://ui/runs/flow-run/abc-123")


def test_overdue_every_n_days_then_escalates_to_the_second_tag() -> None:
    policy = NotifyPolicy(overdue_every_days=7, escalate_after_days=14)
    m = archive_milestone(tags=("projektledning",))
    seen: dict[tuple[str, str], date] = {}
    for over in range(1, 30):
        day = DUE + timedelta(over)
        for n in decide_notices([m], {}, day, policy):
            seen.setdefault((n.key, n.tag), day)
    assert seen == {
        ("overdue:archive-delivered:0:2027-03-15", "projektledning"): date(2027, 3, 16),
        ("overdue:archive-delivered:1:2027-03-15", "projektledning"): date(2027, 3, 23),
        # day 14 late: the current reminder now also goes to the escalation tag
        ("overdue:archive-delivered:1:2027-03-15", "eskalering"): date(2027, 3, 29),
        ("overdue:archive-delivered:2:2027-03-15", "eskalering"): date(2027, 3, 30),
        ("overdue:archive-delivered:2:2027-03-15", "projektledning"): date(2027, 3, 30),
        ("overdue:archive-delivered:3:2027-03-15", "projektledning"): date(2027, 4, 6),
        ("overdue:archive-delivered:3:2027-03-15", "eskalering"): date(2027, 4, 6),
        ("overdue:archive-delivered:4:2027-03-15", "projektledning"): date(2027, 4, 13),
        ("overdue:archive-delivered:4:2027-03-15", "eskalering"): date(2027, 4, 13),
    }
    esc = [n for n in decide_notices([m], {}, DUE + timedelta(20), policy) if n.tag == "eskalering"]
    assert esc[0].subject == "Eskalering, försenad milstolpe (20 dagar): " + m.title


def test_done_or_skipped_milestones_are_silent() -> None:
    m = archive_milestone(final=True, waiting_since=DUE)
    assert (
        decide_notices(
            [m], {"archive-delivered": Snapshot(DUE - timedelta(9), None, None)}, DUE, POLICY
        )
        == []
    )


def test_a_slip_is_told_once_with_old_and_new_date_and_rearms_the_reminders() -> None:
    new_due = date(2027, 4, 12)
    m = archive_milestone(
        due=new_due,
        gate="vast-live",
        gate_open=False,
        gate_reasons=("Västra området: planerad 2027-01-15, ännu inte i drift",),
    )
    before = {"archive-delivered": Snapshot(DUE, "vast-live", False)}
    notices = decide_notices([m], before, date(2027, 3, 14), POLICY)
    slips = [n for n in notices if n.kind == "slip"]
    assert {n.key for n in slips} == {"slip:archive-delivered:2027-03-15:2027-04-12"}
    assert slips[0].subject == (
        "Datum flyttat: Arkivpaket levererat till Regionarkivet 15 mars 2027 → 12 april 2027"
    )
    assert (
        "Tidigare datum: 15 mars 2027\nNytt datum: 12 april 2027\nFörskjutning: +28"
        in slips[0].body
    )
    assert "Västra området: planerad 2027-01-15, ännu inte i drift" in slips[0].body
    # the new date has its own reminders: 29 days left -> the 30-day threshold again
    assert {n.key for n in notices if n.kind == "due"} == {"due:archive-delivered:30:2027-04-12"}
    # no previous snapshot (first run): nothing to compare, no slip notice
    assert not [n for n in decide_notices([m], {}, date(2027, 3, 14), POLICY) if n.kind == "slip"]


def test_a_gate_change_is_one_notice_per_gate_to_every_affected_tag() -> None:
    reasons = ("Norra området: pausad sedan 2027-02-01",)
    a = archive_milestone(gate="norr-live", gate_open=False, gate_reasons=reasons)
    b = MilestoneView(
        id="db-deleted",
        title="SAMSA-databasen raderad",
        tags=("kommuner",),
        due=date(2027, 9, 1),
        gate="norr-live",
        gate_open=False,
        gate_reasons=reasons,
    )
    c = MilestoneView(id="stats-final", title="Sista statistiken", due=date(2027, 9, 1))
    before = {
        "archive-delivered": Snapshot(DUE, "norr-live", True),
        "db-deleted": Snapshot(date(2027, 9, 1), "norr-live", True),
        "stats-final": Snapshot(date(2027, 9, 1), None, None),
    }
    gates = [
        n for n in decide_notices([a, b, c], before, date(2027, 2, 2), POLICY) if n.kind == "gate"
    ]
    assert {(n.key, n.tag) for n in gates} == {
        ("gate:norr-live:closed:2027-02-02", t)
        for t in ("projektledning", "regionarkivet", "kommuner")
    }
    body = gates[0].body
    assert gates[0].subject == "Förutsättning inte längre uppfylld: norr-live"
    assert "Norra området: pausad sedan 2027-02-01" in body
    assert "SAMSA-databasen raderad (db-deleted, 1 september 2027)" in body
    assert "Sista statistiken" not in body


def test_a_waiting_decision_is_told_and_reminded_every_n_days_with_a_link_to_the_run() -> None:
    since = date(2027, 3, 10)
    m = archive_milestone(waiting_since=since, wait_kind="approval", flow_run_id="run-42", due=None)
    keys = []
    for d in range(0, 15):
        keys += [n.key for n in decide_notices([m], {}, since + timedelta(d), POLICY)]
    assert sorted(set(keys)) == [f"wait:archive-delivered:2027-03-10:{n}" for n in (0, 1, 2)]
    (n, _) = decide_notices([m], {}, since, POLICY)
    assert n.subject == "Väntar på godkännande: Arkivpaket levererat till Regionarkivet"
    assert n.body.endswith("Länk: http://prefect.example:4200/runs/flow-run/run-42")
    manual = archive_milestone(waiting_since=since, wait_kind="confirmation", due=None)
    assert decide_notices([manual], {}, since, POLICY)[0].subject.startswith(
        "Väntar på bekräftelse:"
    )


def test_milestones_without_tags_go_to_the_default_tag() -> None:
    m = archive_milestone(tags=())
    assert {n.tag for n in decide_notices([m], {}, DUE, POLICY)} == {"projektledning"}


class ReceiptDeadlines:
    """A stand-in for the extracts area: a delivery waits for a municipality's receipt."""

    def deadlines(self, as_of: date) -> Iterable[Deadline]:
        yield Deadline(
            "receipt:ale", "Mottagningskvitto från Ale kommun", date(2027, 5, 3), "kommuner"
        )


def test_deadline_providers_plug_in_through_the_protocol() -> None:
    provider = ReceiptDeadlines()
    assert isinstance(provider, DeadlineProvider)
    assert not isinstance(object(), DeadlineProvider)
    deadlines = list(provider.deadlines(date(2027, 4, 26)))
    (n,) = decide_notices([], {}, date(2027, 4, 26), POLICY, deadlines)
    assert (n.key, n.tag) == ("deadline:receipt:ale:7:2027-05-03", "kommuner")
    assert n.subject == (
        "Tidsfristen går ut om 7 dagar: Mottagningskvitto från Ale kommun (3 maj 2027)"
    )
    (late,) = decide_notices([], {}, date(2027, 5, 4), POLICY, deadlines)
    assert late.key == "deadline:receipt:ale:overdue0:2027-05-03"


def test_the_composition_root_wires_the_extracts_deadlines() -> None:
    from flows.wiring import DEADLINE_PROVIDERS
    from tasks.extracts.deadlines import ExtractsDeadlineProvider

    assert all(isinstance(p, DeadlineProvider) for p in DEADLINE_PROVIDERS)
    assert any(isinstance(p, ExtractsDeadlineProvider) for p in DEADLINE_PROVIDERS)


def test_swedish_working_days_skip_weekends_and_holidays() -> None:
    # Thu 23 Dec 2027 -> Mon 27 Dec: julafton (Fri), weekend with juldagen/annandag jul
    assert working_days_between(date(2027, 12, 23), date(2027, 12, 27)) == 1
    # Thu 24 June 2027 -> Mon 28 June: midsommarafton (Fri) is not a working day
    assert working_days_between(date(2027, 6, 24), date(2027, 6, 28)) == 1
    # Easter 2027: långfredag 26 March, annandag påsk 29 March
    assert working_days_between(date(2027, 3, 25), date(2027, 3, 30)) == 1
    assert working_days_between(date(2027, 3, 30), date(2027, 3, 25)) == -1
    assert format_date(date(2027, 12, 24)) == "24 december 2027"


def test_personnummer_shaped_text_is_masked_in_every_notice() -> None:
    assert scrub_identities("Utdrag för 19121212-1212 klart") == "Utdrag för 19121212-**** klart"
    assert scrub_identities("id 191212121212 och 121212-1212") == "id 19121212-**** och 121212-****"
    assert scrub_identities("reservnummer 19810829M071") == "reservnummer 19810829-****"
    m = archive_milestone(title="Utdrag 19121212-1212", owner="Ägare 201212121212")
    (n, _) = decide_notices([m], {}, DUE, POLICY)
    assert "1212-1212" not in n.subject + n.body and "201212121212" not in n.body
    assert "19121212-****" in n.subject


def test_bad_thresholds_are_refused_with_a_clear_message() -> None:
    with pytest.raises(InputError, match="thresholds must be whole days >= 1"):
        NotifyPolicy(thresholds=(30, 0))


def _walk(views_by_day, start: date, days: int, policy: NotifyPolicy = POLICY):  # type: ignore[no-untyped-def]
    """Run the decision day by day carrying the snapshot, as the flow does; (day, notice)."""
    from tasks.notify.decide import new_snapshot

    snapshot: dict[str, Snapshot] = {}
    seen: dict[tuple[str, str], date] = {}
    for i in range(days):
        day = start + timedelta(i)
        views = views_by_day(day)
        for n in decide_notices(views, snapshot, day, policy):
            seen.setdefault((n.key, n.tag), day)
        snapshot = new_snapshot(views, snapshot, policy)
    return seen


def test_a_small_move_is_not_news_and_repeats_no_reminder() -> None:
    # 9 days before the date it moves 3 days later: no slip notice, no second 14-day notice
    def views(day: date) -> list[MilestoneView]:
        due = DUE if day < DUE - timedelta(9) else DUE + timedelta(3)
        return [archive_milestone(tags=("projektledning",), due=due)]

    seen = _walk(views, DUE - timedelta(40), 44)  # up to the new date
    assert sorted(k for k, _ in seen) == sorted(
        f"due:archive-delivered:{t}:2027-03-15" for t in (30, 14, 7, 1, 0)
    )
    # the reminders' text shows the current date
    assert seen[("due:archive-delivered:0:2027-03-15", "projektledning")] == DUE + timedelta(3)


def test_a_date_drifting_a_day_per_day_is_announced_every_slip_min_days() -> None:
    # a paused rollout: the projected date is always 120 days ahead and moves daily
    def views(day: date) -> list[MilestoneView]:
        return [archive_milestone(due=day + timedelta(120), tags=("projektledning",))]

    seen = _walk(views, date(2027, 1, 1), 60)
    slips = sorted(day for (key, _), day in seen.items() if key.startswith("slip:"))
    assert slips == [date(2027, 1, 15), date(2027, 1, 29), date(2027, 2, 12), date(2027, 2, 26)]
    assert not [k for k, _ in seen if not k.startswith("slip:")]


def test_a_rollout_slip_moving_several_dates_is_one_notice_per_tag_side_by_side() -> None:
    reasons = ("Södra området: pausad sedan 2024-11-15; omstart kräver 120 dagars varsel",)
    policy = NotifyPolicy(date_reasons=reasons)
    a = archive_milestone(due=date(2027, 6, 1))
    b = MilestoneView(
        id="db-deleted",
        title="SAMSA-databasen raderad",
        tags=("projektledning",),
        due=date(2027, 9, 30),
    )
    before = {
        "archive-delivered": Snapshot(date(2027, 4, 1), None, None),
        "db-deleted": Snapshot(date(2027, 8, 1), None, None),
    }
    notices = [
        n for n in decide_notices([a, b], before, date(2027, 1, 10), policy) if n.kind == "slip"
    ]
    by_tag = {n.tag: n for n in notices}
    assert set(by_tag) == {"projektledning", "regionarkivet"}
    pl = by_tag["projektledning"]
    assert pl.key.startswith("slips:")
    assert pl.subject == "Datum flyttade för 2 milstolpar"
    assert (
        "  - Arkivpaket levererat till Regionarkivet (archive-delivered): "
        "1 april 2027 → 1 juni 2027 (+61 kalenderdagar)" in pl.body
    )
    assert "SAMSA-databasen raderad (db-deleted): 1 augusti 2027 → 30 september 2027" in pl.body
    assert reasons[0] in pl.body
    # regionarkivet only follows archive-delivered: the single-milestone form
    assert by_tag["regionarkivet"].key == "slip:archive-delivered:2027-04-01:2027-06-01"
    again = [
        n for n in decide_notices([a, b], before, date(2027, 1, 10), policy) if n.kind == "slip"
    ]
    assert {n.key for n in again} == {n.key for n in notices}  # stable keys: never doubled
