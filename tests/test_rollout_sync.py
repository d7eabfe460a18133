"""The rollout sync: what counts as a change, and how it is remembered in the ledger."""

from __future__ import annotations

from datetime import date

from ledgers import upgraded

from tasks.rollout import StageView, diff_stages, load_snapshots, save_snapshots


def _stage(status: str = "planned", planned: date | None = date(2026, 10, 15), **kw) -> StageView:  # type: ignore[no-untyped-def]
    return StageView(
        stage_id=kw.pop("stage_id", "etapp-4"),
        name="Etapp 4 – Västra området",
        status=status,
        planned_go_live=planned,
        **kw,
    )


def test_first_look_is_a_baseline_without_changes() -> None:
    assert diff_stages({}, [_stage()]) == []


def test_going_live_pausing_and_cancelling_are_changes() -> None:
    before = {"etapp-4": _stage()}
    live = diff_stages(before, [_stage("live", actual_go_live=date(2026, 10, 15))])
    assert [c.event for c in live] == ["samsa.rollout.stage.live"]
    assert live[0].payload()["previous_status"] == "planned"
    assert live[0].payload()["actual_go_live"] == "2026-10-15"
    paused = diff_stages(
        {"etapp-4": _stage("live")}, [_stage("paused", paused_on=date(2026, 11, 1))]
    )
    assert [c.kind for c in paused] == ["paused"]
    assert [c.kind for c in diff_stages(before, [_stage("cancelled")])] == ["cancelled"]
    assert [c.kind for c in diff_stages({"etapp-4": _stage("paused")}, [_stage()])] == ["resumed"]


def test_a_later_planned_date_is_a_slip_an_earlier_one_a_reschedule() -> None:
    before = {"etapp-4": _stage()}
    slipped = diff_stages(before, [_stage(planned=date(2027, 3, 1))])
    assert [c.kind for c in slipped] == ["slipped"]
    assert "2026-10-15 → 2027-03-01" in slipped[0].summary
    assert [c.kind for c in diff_stages(before, [_stage(planned=date(2026, 9, 1))])] == [
        "rescheduled"
    ]
    # a paused stage whose plan also slips: both facts are told
    both = diff_stages(
        before, [_stage("paused", planned=date(2027, 3, 1), paused_on=date(2026, 9, 1))]
    )
    assert [c.kind for c in both] == ["paused", "slipped"]


def test_unchanged_and_removed_stages() -> None:
    before = {"etapp-4": _stage(), "etapp-5": _stage(stage_id="etapp-5")}
    changes = diff_stages(before, [_stage()])
    assert [(c.kind, c.stage.stage_id) for c in changes] == [("removed", "etapp-5")]


def test_snapshots_round_trip_and_changes_are_audited(db_url: str) -> None:
    ledger = upgraded(db_url)
    try:
        save_snapshots(ledger, [_stage()], [])
        assert load_snapshots(ledger) == {"etapp-4": _stage()}
        now = [_stage("live", actual_go_live=date(2026, 10, 15))]
        changes = diff_stages(load_snapshots(ledger), now)
        save_snapshots(ledger, now, changes, flow_run_id="run-1")
        assert load_snapshots(ledger)["etapp-4"].status == "live"
        (entry,) = ledger.audit_entries()
        assert (entry.action, entry.subject) == ("rollout.stage.live", "rollout-stage:etapp-4")
        assert entry.details["flow_run_id"] == "run-1"
        assert ledger.verify_audit().ok
        assert diff_stages(load_snapshots(ledger), now) == []  # the next look: nothing new
    finally:
        ledger.close()
