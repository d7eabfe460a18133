"""No false alarms from a projection: while every stage of the successor's rollout is paused,
the transition date is only a projection, so nothing dated from it is overdue or escalated,
people outside the project (municipalities, users) hear nothing of those dates, and the
project's own tags get the dates marked "prognos". With the rollout resumed, the normal
notices come."""

from __future__ import annotations

from datetime import date, timedelta

from models.milestone import MilestoneState
from models.plan import load_plan
from models.schedule import compute_schedule
from models.settings import PLAN_DIR
from tasks.notify.decide import (
    MilestoneView,
    NotifyPolicy,
    Snapshot,
    decide_notices,
    milestone_views,
    new_snapshot,
)
from tasks.reconcile import Instance
from tasks.rollout_source import load_rollout
from tasks.status import Display, status_markdown, status_rows

PLAN = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
PAUSED = load_rollout(PLAN_DIR / "rollout.yaml")
RESUMED = load_rollout(PLAN_DIR / "rollout-resumed.yaml")
DAY = date(2026, 11, 30)
EXTERNAL = {"municipalities", "users"}
POLICY = NotifyPolicy()


def _views(rollout: object, day: date) -> list[MilestoneView]:
    schedule = compute_schedule(PLAN, rollout, day)  # type: ignore[arg-type]
    return milestone_views(PLAN, schedule, {}, {}, day)


def _eight_weeks(rollout: object, start: date = DAY) -> list[tuple[date, str, str, str, str]]:
    """(day, key, tag, kind, subject) of every notice of eight weeks of daily runs."""
    snapshot: dict[str, Snapshot] = {}
    seen = []
    for n in range(56):
        day = start + timedelta(n)
        views = _views(rollout, day)
        seen += [(day, x.key, x.tag, x.kind, x.subject)
                 for x in decide_notices(views, snapshot, day, POLICY)]  # fmt: skip
        snapshot = new_snapshot(views, snapshot, POLICY)
    return seen


def test_the_real_paused_rollout_makes_stop_new_connections_a_past_projection() -> None:
    schedule = compute_schedule(PLAN, PAUSED, DAY)
    assert not schedule.transition_confirmed
    assert "stop-new-connections" in schedule.projected
    assert schedule.due["stop-new-connections"] < DAY  # "before transition - 6m"


def test_a_projected_date_is_never_overdue_nor_escalated() -> None:
    seen = _eight_weeks(PAUSED)
    about = [s for s in seen if s[1].split(":")[1] == "stop-new-connections"]
    assert not [s for s in about if s[3] in ("overdue", "escalation")]
    projected = compute_schedule(PLAN, PAUSED, DAY).projected
    escalated = {s[1].split(":")[1] for s in seen if s[2] == POLICY.escalation_tag}
    assert escalated and not escalated & projected  # fixed dates still escalate


def test_people_outside_the_project_hear_no_projected_date() -> None:
    projected = compute_schedule(PLAN, PAUSED, DAY).projected
    seen = _eight_weeks(PAUSED)
    to_outside = [s for s in seen if s[2] in EXTERNAL and s[1].split(":")[1] in projected]
    assert to_outside == []


def test_the_project_still_hears_projected_dates_marked_prognos() -> None:
    views = {v.id: v for v in _views(PAUSED, DAY)}
    notice_all = views["notice-all-users"]  # tagged pm, municipalities, users
    assert notice_all.projected
    # put its date ten days ahead: a due reminder, to pm only, marked as a projection
    soon = MilestoneView(**{**notice_all.__dict__, "due": DAY + timedelta(10)})
    notices = decide_notices([soon], {}, DAY, POLICY)
    assert {n.tag for n in notices} == {"pm"}
    assert all("(prognos)" in n.subject and "(prognos)" in n.body for n in notices)


def test_with_the_rollout_resumed_the_normal_notices_come() -> None:
    schedule = compute_schedule(PLAN, RESUMED, DAY)
    assert schedule.transition_confirmed and not schedule.projected
    assert not [s for s in _eight_weeks(RESUMED) if "prognos" in s[4]]
    # the areas switch once the west (every area's counterparty) is live: 2027-10-13
    before_switch = date(2027, 9, 1)
    assert compute_schedule(PLAN, RESUMED, before_switch).transition_confirmed
    seen = _eight_weeks(RESUMED, before_switch)
    assert {s[2] for s in seen} & EXTERNAL  # municipalities and users are told dates
    assert not [s for s in seen if "prognos" in s[4]]


def test_the_status_table_says_prognos_not_forsenad() -> None:
    schedule = compute_schedule(PLAN, PAUSED, DAY)
    instances = [Instance(m.id, m, schedule.due[m.id]) for m in PLAN.milestones
                 if not m.recurring]  # fmt: skip
    rows = {r.id: r for r in status_rows(instances, {}, {}, DAY, schedule.projected)}
    stop = rows["stop-new-connections"]
    assert stop.display is not Display.overdue and stop.days_text == "prognos"
    assert stop.state is MilestoneState.pending
    md = status_markdown(list(rows.values()), as_of=DAY, transition=schedule.transition,
                         transition_confirmed=False, svg="<svg/>")  # fmt: skip
    line = next(x for x in md.splitlines() if "`stop-new-connections`" in x)
    assert "(prognos)" in line and "försenad" not in line
    # the fixed date before it is an ordinary date
    assert "stop-new-development" not in schedule.projected
