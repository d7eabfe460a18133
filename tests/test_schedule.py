"""The schedule: the transition date from the rollout, dates that hang on it, slips, budget."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from models.plan import Plan, load_plan, load_plan_text
from models.rollout import Rollout, Stage
from models.schedule import budget_by_year, compute_schedule, schedule_changes
from models.settings import PLAN_DIR
from tasks.rollout_source import load_rollout

AS_OF = date(2026, 11, 27)

PLAN = load_plan_text(
    """\
budget:
  total_per_year_sek: {2026: 1000000, 2027: 1000000}
  frames_percent: {2026: [2, 4], 2027: [1, 2]}
gates:
  all: {all_live: true}
milestones:
  - {id: notice, title: Besked, owner: PM, workstream: routines, due: before transition - 90d,
     cost_estimate: 30000}
  - {id: read-only, title: Skrivskyddat, owner: PM, workstream: routines, due: transition + 30d,
     depends_on: [notice], gate: all, cost_estimate: 5000}
  - {id: archive, title: Arkiv, owner: PM, workstream: archive, due: after read-only + 14d,
     depends_on: [read-only], gate: all}
  - {id: routine-moved, title: Rutin, owner: PM, workstream: extracts,
     due: after archive + 2w, depends_on: [archive]}
  - {id: south, title: Syd, owner: PM, workstream: routines, due: area south + 30d}
  - {id: done, title: Klart, owner: PM, workstream: routines, due: transition + 12m}
  - {id: stats, title: Statistik, owner: PM, workstream: statistics, due: 2026-10-01,
     recurring: {every: month, day: 5, until: read-only}, cost_estimate: 1000}
""",
    "t.yaml",
)


def stage(sid: str, areas: list[str], status: str, **kw: Any) -> Stage:
    return Stage.model_validate(
        {"id": sid, "name": f"Etapp {sid}", "areas": areas, "status": status, **kw}
    )


def rollout(*stages: Stage, notice: int = 120) -> Rollout:
    return Rollout(stages=list(stages), restart_notice_days=notice)


LIVE_SOUTH = stage("s", ["south"], "live", actual_go_live="2026-03-01")
WEST_PLANNED = stage("w", ["west"], "planned", planned_go_live="2027-06-01")


def test_transition_is_the_last_go_live_and_dates_follow_it() -> None:
    s = compute_schedule(PLAN, rollout(LIVE_SOUTH, WEST_PLANNED), AS_OF)
    assert s.transition == date(2027, 6, 1) and s.transition_confirmed
    assert s.transition_reasons == []
    assert s.due["notice"] == date(2027, 3, 3)
    assert s.due["read-only"] == date(2027, 7, 1)
    assert s.due["archive"] == date(2027, 7, 15)
    assert s.due["routine-moved"] == date(2027, 7, 29)
    assert s.due["south"] == date(2026, 3, 31)
    assert s.due["done"] == date(2028, 6, 1)
    assert s.areas == {"south": date(2026, 3, 1), "west": date(2027, 6, 1)}


def test_actual_go_live_wins_over_planned() -> None:
    early = stage("w", ["west"], "live", planned_go_live="2027-06-01", actual_go_live="2026-11-02")
    s = compute_schedule(PLAN, rollout(LIVE_SOUTH, early), AS_OF)
    assert s.transition == date(2026, 11, 2) and s.transition_confirmed


def test_a_slip_moves_every_date_that_hangs_on_it_and_nothing_else() -> None:
    before = compute_schedule(PLAN, rollout(LIVE_SOUTH, WEST_PLANNED), AS_OF)
    slipped = stage("w", ["west"], "planned", planned_go_live="2027-09-01")
    after = compute_schedule(PLAN, rollout(LIVE_SOUTH, slipped), AS_OF)
    changes = {c.milestone_id: c for c in schedule_changes(before, after)}
    assert set(changes) == {"notice", "read-only", "archive", "routine-moved", "done", "stats"}
    assert all(changes[m].days == 92 for m in ("notice", "read-only", "archive", "done"))
    assert changes["archive"].old == date(2027, 7, 15)
    assert changes["archive"].new == date(2027, 10, 15)
    assert schedule_changes(before, before) == []
    # against the dates a ledger remembers (a plain mapping), including a removed milestone
    remembered = {**before.due, "gone": date(2027, 1, 1)}
    from_ledger = {c.milestone_id: c for c in schedule_changes(remembered, after)}
    assert from_ledger["gone"].new is None and from_ledger["gone"].days is None
    assert from_ledger["archive"].days == 92


def test_late_planned_stage_slips_day_by_day() -> None:
    late = stage("w", ["west"], "planned", planned_go_live="2026-10-15")
    s = compute_schedule(PLAN, rollout(LIVE_SOUTH, late), AS_OF)
    assert s.transition == AS_OF and not s.transition_confirmed
    assert "planerad 2026-10-15, ännu inte i drift" in s.transition_reasons[0]
    tomorrow = compute_schedule(PLAN, rollout(LIVE_SOUTH, late), date(2026, 11, 28))
    assert tomorrow.due["read-only"] == date(2026, 12, 28)


def test_paused_stage_needs_the_restart_notice() -> None:
    paused = stage(
        "s",
        ["south"],
        "paused",
        planned_go_live="2024-11-12",
        actual_go_live="2024-11-12",
        paused_on="2024-11-15",
    )
    s = compute_schedule(PLAN, rollout(paused, WEST_PLANNED), AS_OF)
    assert s.transition == date(2027, 6, 1)  # the notice ends earlier than the west stage
    assert not s.transition_confirmed
    s = compute_schedule(PLAN, rollout(paused, WEST_PLANNED, notice=365), AS_OF)
    assert s.transition == date(2027, 11, 27)
    assert "omstart kräver 365 dagars varsel, tidigast 2027-11-27" in s.transition_reasons[0]


def test_cancelled_stage_makes_the_transition_unknown() -> None:
    cancelled = stage("w", ["west"], "cancelled", planned_go_live="2026-10-15")
    s = compute_schedule(PLAN, rollout(LIVE_SOUTH, cancelled), AS_OF)
    assert s.transition == date(2027, 3, 27)
    assert not s.transition_confirmed
    assert "avbruten" in s.transition_reasons[0] and "okänd" in s.transition_reasons[0]


def test_real_completion_dates_replace_planned_ones() -> None:
    r = rollout(LIVE_SOUTH, WEST_PLANNED)
    s = compute_schedule(PLAN, r, AS_OF, done_dates={"archive": date(2027, 8, 1)})
    assert s.due["routine-moved"] == date(2027, 8, 15)
    assert s.due["archive"] == date(2027, 7, 15)  # its own planned date is kept


def test_recurring_occurrences_run_until_the_until_milestone() -> None:
    s = compute_schedule(PLAN, rollout(LIVE_SOUTH, WEST_PLANNED), AS_OF)
    occ = s.occurrences["stats"]
    # read-only is due 2027-07-01: the last 5th on or before it is 2027-06-05
    assert occ[0] == date(2026, 10, 5) and occ[-1] == date(2027, 6, 5)
    assert len(occ) == 9
    assert s.due["stats"] == occ[-1]
    assert s.next_occurrence("stats") == date(2026, 12, 5)
    done_early = compute_schedule(
        PLAN, rollout(LIVE_SOUTH, WEST_PLANNED), AS_OF, done_dates={"read-only": AS_OF}
    )
    assert done_early.occurrences["stats"][-1] == date(2026, 11, 5)


def test_budget_per_year_against_the_frame() -> None:
    s = compute_schedule(PLAN, rollout(LIVE_SOUTH, WEST_PLANNED), AS_OF)
    years = {b.year: b for b in budget_by_year(PLAN, s)}
    # 2026: three statistics occurrences (Oct-Dec) = 3 000; frame 20 000-40 000 → under
    assert years[2026].estimate_sek == 3000 and years[2026].verdict == "under"
    # 2027: notice 30 000 + read-only 5 000 + six statistics (Jan-Jun) = 41 000
    assert years[2027].estimate_sek == 41000 and years[2027].verdict == "over"
    assert (years[2027].frame_low_sek, years[2027].frame_high_sek) == (10000, 20000)


def test_budget_within_and_without_frame() -> None:
    plan = Plan.model_validate(
        {
            "budget": {"total_per_year_sek": {2027: 100000}, "frames_percent": {2027: [1, 2]}},
            "milestones": [
                {
                    "id": "a",
                    "title": "A",
                    "owner": "x",
                    "workstream": "archive",
                    "due": "2027-05-01",
                    "cost_estimate": 1500,
                },
                {
                    "id": "b",
                    "title": "B",
                    "owner": "x",
                    "workstream": "archive",
                    "due": "2028-05-01",
                    "cost_estimate": 7,
                },
            ],
        }
    )
    s = compute_schedule(plan, rollout(LIVE_SOUTH), AS_OF)
    years = {b.year: b.verdict for b in budget_by_year(plan, s)}
    assert years == {2027: "within", 2028: "no-frame"}


def test_real_plan_with_the_real_rollout_slips_with_the_pause() -> None:
    plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
    real = load_rollout(PLAN_DIR / "rollout.yaml")
    today = compute_schedule(plan, real, AS_OF)
    assert today.transition == date(2027, 3, 27) and not today.transition_confirmed
    assert today.warnings == []
    a_month_later = compute_schedule(plan, real, date(2026, 12, 27))
    moved = {c.milestone_id for c in schedule_changes(today, a_month_later)}
    assert {"samsa-db-deleted", "archive-package-delivered", "decommissioning-completed"} <= moved
    assert "stop-new-development" not in moved  # a fixed date does not move
    # decommissioning completes within 12 months of the transition, after everything else
    end = today.due["decommissioning-completed"]
    assert end == date(2028, 3, 27)
    assert all(d <= end for d in today.due.values())


def test_real_plan_with_the_resumed_rollout_is_confirmed() -> None:
    plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
    resumed = load_rollout(PLAN_DIR / "rollout-resumed.yaml")
    s = compute_schedule(plan, resumed, AS_OF)
    assert s.transition == date(2027, 9, 13) and s.transition_confirmed
    assert s.warnings == []


REAL_PLAN = load_plan(PLAN_DIR / "samsa-phaseout.yaml")


@settings(max_examples=60, deadline=None)
@given(
    first=st.dates(date(2026, 12, 1), date(2029, 12, 31)),
    slip=st.integers(min_value=1, max_value=900),
)
def test_a_later_go_live_never_moves_any_date_earlier(first: date, slip: int) -> None:
    """Property: slipping the last stage moves dates later or leaves them, never earlier."""
    from datetime import timedelta

    def west(day: date) -> Stage:
        return stage("w", ["west"], "planned", planned_go_live=day.isoformat())

    early = compute_schedule(REAL_PLAN, rollout(LIVE_SOUTH, west(first)), AS_OF)
    late = compute_schedule(
        REAL_PLAN, rollout(LIVE_SOUTH, west(first + timedelta(days=slip))), AS_OF
    )
    assert late.transition - early.transition == timedelta(days=slip)
    for change in schedule_changes(early, late):
        assert change.days is not None and change.days > 0, change
    # a date in days after the transition moves by the whole slip ('+ 10m' may not: month
    # ends are clamped, 30 and 31 January + 10m are both 30 November)
    assert (late.due["samsa-read-only"] - early.due["samsa-read-only"]).days == slip


def test_dates_that_hang_on_a_paused_rollout_are_marked_projected() -> None:
    """With every stage paused, the transition is a projection: every date computed from it
    (directly, through an area, or through another milestone not yet done) is marked, and a
    fixed date is not."""
    plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
    real = load_rollout(PLAN_DIR / "rollout.yaml")
    paused = compute_schedule(plan, real, date(2026, 11, 30))
    assert not paused.transition_confirmed
    assert {"stop-new-connections", "samsa-db-deleted", "area-west-switched",
            "register-extract-routine-moved"} <= paused.projected  # fmt: skip
    assert "stop-new-development" not in paused.projected  # an absolute date
    # a real completion date ends the projection for what follows it
    done = compute_schedule(plan, real, date(2026, 11, 30),
                            done_dates={"archive-accepted": date(2026, 11, 20)})  # fmt: skip
    assert "register-extract-routine-moved" not in done.projected
    assert "archive-accepted" not in done.projected

    resumed = load_rollout(PLAN_DIR / "rollout-resumed.yaml")
    firm = compute_schedule(plan, resumed, date(2026, 11, 30))
    assert firm.transition_confirmed and firm.projected == frozenset()
