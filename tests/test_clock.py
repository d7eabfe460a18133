"""One clock and one answer to "when was it done".

The product reads the wall clock only in models/clock.py, and a milestone's completion day
is the Stockholm calendar day of the moment the ledger marked it done. These tests freeze the
clock at the awkward instants (just after local midnight, which is still yesterday in UTC, and
on each side of both daylight-saving changes) and check that the reconciler, the notices,
``samsa-decom plan`` and ``samsa-decom status`` all date the completion alike.
"""

from __future__ import annotations

import ast
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from ledgers import upgraded

from deploy.cli import main
from models import clock
from models.milestone import MilestoneState
from models.plan import load_plan
from models.settings import PLAN_DIR, get_settings
from tasks.rollout_source import load_rollout

STOCKHOLM = ZoneInfo("Europe/Stockholm")
ROOT = Path(__file__).resolve().parents[1]

# (the instant in UTC, the Stockholm day it belongs to)
AWKWARD_INSTANTS = [
    # 00:30 in winter (CET, +1): 23:30 UTC the day before
    (datetime(2027, 1, 14, 23, 30, tzinfo=UTC), date(2027, 1, 15)),
    # 00:30 in summer (CEST, +2): 22:30 UTC the day before
    (datetime(2027, 6, 9, 22, 30, tzinfo=UTC), date(2027, 6, 10)),
    # spring forward on 2027-03-28: 00:30 CET before the change, 03:30 CEST after it
    (datetime(2027, 3, 27, 23, 30, tzinfo=UTC), date(2027, 3, 28)),
    (datetime(2027, 3, 28, 1, 30, tzinfo=UTC), date(2027, 3, 28)),
    # fall back on 2027-10-31: 00:30 CEST before the change, 03:30 CET after it
    (datetime(2027, 10, 30, 22, 30, tzinfo=UTC), date(2027, 10, 31)),
    (datetime(2027, 10, 31, 2, 30, tzinfo=UTC), date(2027, 10, 31)),
    # new year's eve 23:30 UTC is already the new year in Stockholm
    (datetime(2027, 12, 31, 23, 30, tzinfo=UTC), date(2028, 1, 1)),
]


@pytest.mark.parametrize(("instant", "day"), AWKWARD_INSTANTS)
def test_the_clock_answers_the_stockholm_day(instant: datetime, day: date) -> None:
    with time_machine.travel(instant, tick=False):
        assert clock.now() == instant and clock.now().tzinfo is not None
        assert clock.today() == day
        assert clock.today("UTC") == instant.date()
    assert clock.local_day(instant) == day
    assert clock.local_day(instant.replace(tzinfo=None)) == day  # SQLite's naive UTC


def test_today_follows_the_configured_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMSA_DECOM_TIMEZONE", "America/New_York")
    get_settings.cache_clear()
    with time_machine.travel(datetime(2027, 1, 15, 3, 0, tzinfo=UTC), tick=False):
        assert clock.today() == date(2027, 1, 14)


def _plan_due(capsys: pytest.CaptureFixture[str], db_url: str, as_of: date) -> dict[str, str]:
    assert main(["plan", "--json", "--as-of", as_of.isoformat(), "--ledger", db_url]) == 0
    return {r["id"]: r["due"] for r in json.loads(capsys.readouterr().out)}


@pytest.mark.parametrize(("instant", "day"), AWKWARD_INSTANTS)
def test_every_reader_dates_a_completion_alike(
    instant: datetime,
    day: date,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """archive-accepted is marked done at an awkward instant; 'after archive-accepted + 14d'
    must then be the same day in the reconciler, the notices, plan and status."""
    from flows.phaseout import World
    from tasks.notify.decide import gather_views
    from tasks.phaseout.day import load_day

    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", db_url)
    get_settings.cache_clear()
    ledger = upgraded(db_url)
    try:
        with time_machine.travel(instant, tick=False):
            with ledger.unit_of_work() as s:
                ledger.set_state(s, "archive-accepted", MilestoneState.done, actor="Arkivarie")
        plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
        rollout = load_rollout(PLAN_DIR / "rollout.yaml")
        as_of = day + timedelta(days=3)
        expected = day + timedelta(days=14)

        today = load_day(get_settings(), as_of, ledger=ledger, plan=plan, rollout=rollout)
        world = World(get_settings(), ledger, today)
        world.refresh()
        reconciler = world.schedule.due["register-extract-routine-moved"]

        views, _ = gather_views(today)
        notices = {v.id: v.due for v in views}["register-extract-routine-moved"]
    finally:
        ledger.close()

    planned = _plan_due(capsys, db_url, as_of)["register-extract-routine-moved"]
    monkeypatch.setenv("COLUMNS", "220")  # one table row per line
    assert main(["status", "--ledger", db_url, "--as-of", as_of.isoformat()]) == 0
    status_out = capsys.readouterr().out

    assert (reconciler, notices, date.fromisoformat(planned)) == (expected, expected, expected)
    assert f"klar {day.isoformat()}" in status_out


def _wall_clock_reads(path: Path) -> list[str]:
    """Calls that read the wall clock: date.today(), datetime.now()/utcnow()/today(),
    time.time(), time.localtime(), time.gmtime()."""
    found: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
        call = f"{name}.{node.func.attr}"
        if call in {
            "date.today", "datetime.now", "datetime.utcnow", "datetime.today",
            "time.time", "time.localtime", "time.gmtime", "time.time_ns",
        }:  # fmt: skip
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {call}()")
    return found


def test_nothing_but_the_clock_module_reads_the_wall_clock() -> None:
    reads = [
        hit
        for top in ("flows", "tasks", "models", "deploy")
        for path in sorted((ROOT / top).rglob("*.py"))
        if path != ROOT / "models" / "clock.py"
        for hit in _wall_clock_reads(path)
    ]
    assert reads == []
