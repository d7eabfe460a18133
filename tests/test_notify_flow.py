"""The notify-milestones flow (under the Prefect harness) and the ``samsa-decom notify`` CLI,
with the project's real plan and rollout files and a real HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from ledgers import upgraded
from notify_receivers import HttpReceiver

from deploy.cli import main
from models import clock
from models.ledger import upgrade_ledger
from models.settings import PLAN_DIR, get_settings
from tasks.notify.outbox import outbox


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    r = HttpReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def configured_without_ledger(
    http: HttpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Settings: the paused rollout (the real status), a ledger not made yet, one webhook."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", url)
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(PLAN_DIR / "rollout.yaml"))
    monkeypatch.setenv("SAMSA_DECOM_APPRISE_URLS", json.dumps([http.url("/all")]))
    monkeypatch.setenv("SAMSA_DECOM_UI_URL", "http://prefect.example:4200")
    get_settings.cache_clear()
    return url


@pytest.fixture
def configured(configured_without_ledger: str) -> str:
    """The same with a fresh ledger, made as `samsa-decom up` makes it."""
    upgrade_ledger(configured_without_ledger)
    return configured_without_ledger


def _rows(url: str):  # type: ignore[no-untyped-def]
    led = upgraded(url)
    try:
        return outbox(led)
    finally:
        led.close()


@pytest.mark.prefect
def test_flow_sends_once_links_to_its_run_and_fails_visibly_when_a_channel_is_down(
    prefect_harness: None, configured: str, http: HttpReceiver
) -> None:
    from prefect.client.orchestration import get_client

    from flows.milestones import ARTIFACT_KEY, notify_milestones

    day = date(2026, 3, 2)
    first = notify_milestones(as_of=day)
    assert first["new"] > 0 and first["sent"] == first["new"] and first["failed"] == 0
    # one channel carries every tag: a notice for two tags arrives there once
    assert len(http.at("/all")) == first["messages"] < first["new"]
    body = http.at("/all")[0]["message"]
    assert "http://prefect.example:4200/runs/flow-run/" in body  # the notify run itself
    again = notify_milestones(as_of=day)
    assert again == {"new": 0, "already": first["new"], "sent": 0, "messages": 0, "failed": 0}
    assert len(http.at("/all")) == first["messages"]

    with get_client(sync_client=True) as client:
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

        arts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[ARTIFACT_KEY]))
        )
    assert arts and "| nya | redan kända |" in str(arts[0].data)

    http.fail = True  # the chat service is down the next morning
    state = notify_milestones(as_of=date(2026, 3, 5), return_state=True)
    assert state.is_failed()
    assert "retried on the next run" in (state.message or "") + str(
        state.result(raise_on_failure=False)
    )
    pending = [r for r in _rows(configured) if r.status.value == "failed"]
    assert pending
    http.fail = False
    recovered = notify_milestones(as_of=date(2026, 3, 6))
    assert recovered["failed"] == 0 and recovered["sent"] >= len(pending)
    titles = [p["title"] for p in http.at("/all")]
    distinct = {(r.notice_key, r.subject) for r in _rows(configured)}
    assert all(r.status.value == "sent" for r in _rows(configured))
    assert len(titles) == len(distinct)  # every notice arrived, none twice


def test_cli_dry_run_prints_and_records_nothing(
    configured_without_ledger: str, http: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify", "--as-of", "2026-03-02", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "Provkörning 2026-03-02" in printed
    assert "Nyutveckling i SAMSA upphör" in printed
    assert "[1 kanal]" in printed
    assert not Path(configured_without_ledger.removeprefix("sqlite:///")).exists()
    assert http.posts == []


def test_cli_tells_a_rollout_slip_and_a_gate_opening_once(
    configured: str,
    http: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["notify", "--as-of", "2026-11-27"]) == 0
    before = len(http.posts)
    # the rollout resumes (the hypothetical scenario): dates move, and once the west, the
    # south's counterparty, has been live 30 days the south gate opens
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(PLAN_DIR / "rollout-resumed.yaml"))
    get_settings.cache_clear()
    assert main(["notify", "--as-of", "2027-10-13"]) == 0
    assert main(["notify", "--as-of", "2027-10-13"]) == 0  # a second run: nothing new
    new = [p for _, p in http.posts[before:]]
    titles = [p["title"] for p in new]
    assert len(titles) == len(set(zip(titles, [p["message"] for p in new], strict=True)))
    assert "Förutsättning uppfylld: area-south-live" in titles
    slips = [p for p in new if p["title"].startswith("Datum flyttat")]
    assert slips, titles
    assert "Tidigare datum:" in slips[0]["message"] and "Nytt datum:" in slips[0]["message"]
    rows = _rows(configured)
    assert len({(r.notice_key, r.tag) for r in rows}) == len(rows)
    capsys.readouterr()


def test_cli_bad_input_exits_2_and_undelivered_exits_1(
    configured: str, http: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify", "--as-of", "2026-02-30"]) == 2
    assert "--as-of: '2026-02-30' is not a date" in capsys.readouterr().err
    http.fail = True
    assert main(["notify", "--as-of", "2026-03-02"]) == 1
    err = capsys.readouterr().err
    assert "not delivered; kept in the outbox for the next run" in err
    assert main(["outbox", "--status", "failed"]) == 0
    assert "failed" in capsys.readouterr().out
    assert main(["outbox", "--status", "lost"]) == 2


def test_a_milestone_waiting_for_approval_is_told_with_a_link_to_the_waiting_run(
    configured: str, http: HttpReceiver
) -> None:
    from models.milestone import MilestoneState

    led = upgraded(configured)
    try:
        with led.unit_of_work() as s:
            led.set_state(
                s,
                "samsa-db-deleted",
                MilestoneState.awaiting_approval,
                reason="väntar på godkännande",
                flow_run_id="0b7c-run",
            )
        assert list(led.waiting_for_decision()) == ["samsa-db-deleted"]
    finally:
        led.close()
    today = clock.today().isoformat()
    assert main(["notify", "--as-of", today]) == 0
    waiting = [p for p in http.at("/all") if p["title"].startswith("Väntar på godkännande")]
    assert [p["title"] for p in waiting] == ["Väntar på godkännande: SAMSA:s databas raderad"]
    assert waiting[0]["message"].endswith("http://prefect.example:4200/runs/flow-run/0b7c-run")
    assert "Ett oåterkalleligt steg väntar på ditt godkännande" in waiting[0]["message"]


def test_rehearsal_of_the_real_plan_day_by_day_over_a_year(
    configured: str, http: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real plan and the resumed-rollout scenario, ``as_of`` each day for a year through
    the same path as ``samsa-decom notify --as-of``: every reminder threshold of every date
    arrives exactly once, and nothing arrives twice."""
    from collections import defaultdict
    from datetime import timedelta

    from models.plan import load_plan
    from tasks.notify.channels import Router
    from tasks.notify.decide import NotifyPolicy
    from tasks.notify.run import notify_day, run_notifications
    from tasks.phaseout.day import load_day
    from tasks.rollout_source import load_rollout

    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(PLAN_DIR / "rollout-resumed.yaml"))
    get_settings.cache_clear()
    settings = get_settings()
    start = date(2026, 11, 27)
    assert run_notifications(settings, start).report.failed == 0  # the CLI's path, day one
    # then the same day-by-day path with plan, rollout and ledger loaded once
    plan, rollout = load_plan(settings.plan_path), load_rollout(settings.rollout_source)
    led, router = upgraded(configured), Router.from_settings(settings)
    policy = NotifyPolicy.from_settings(settings)
    try:
        for i in range(1, 365):
            day = start + timedelta(days=i)  # milestones only: other areas' deadlines aside
            today = load_day(settings, day, ledger=led, plan=plan, rollout=rollout)
            run = notify_day(today, led, router, policy, providers=[])
            assert run.report.failed == 0, run.report.errors
    finally:
        led.close()
    rows = _rows(configured)
    assert all(r.status.value == "sent" for r in rows)
    distinct_messages = {(r.notice_key, r.subject) for r in rows}
    assert len(http.at("/all")) == len(distinct_messages)  # one channel: each message once
    steps: dict[tuple[str, str], list[int]] = defaultdict(list)
    for key in {r.notice_key for r in rows if r.notice_key.startswith("due:")}:
        _, mid, step, anchor = key.split(":")
        steps[(mid, anchor)].append(int(step))
    full = [
        (mid, anchor)
        for (mid, anchor) in steps
        if date.fromisoformat(anchor) >= start + timedelta(days=31)
        and date.fromisoformat(anchor) <= start + timedelta(days=364)
    ]
    assert len(full) >= 10
    slipped = {r.notice_key.split(":")[1] for r in rows if r.notice_key.startswith("slip:")}
    for mid, anchor in full:
        if mid in slipped:
            continue
        assert sorted(steps[(mid, anchor)]) == [0, 1, 7, 14, 30], (mid, anchor)
