"""``samsa-decom integrations …`` and the reconciler's action ``integration``, end to end on
a loopback counterpart and a SQLite SAMSA database."""

from __future__ import annotations

from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from integrations_counterpart import AS_OF, Counterpart, World, endpoint_mode, make_world

from deploy.cli import main
from flows.actions import ActionContext
from flows.wiring import resolve_action


@pytest.fixture
def cli_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    from models.settings import get_settings

    cp = Counterpart().start()
    w = make_world(tmp_path, f"sqlite:///{tmp_path / 'samsa.sqlite'}", cp)
    env = {
        "SAMSA_DECOM_SOURCE_URL": w.db,
        "SAMSA_DECOM_LEDGER_URL": w.db,
        "SAMSA_DECOM_INTEGRATIONS_PATH": str(tmp_path / "integrations.yaml"),
        "SAMSA_DECOM_PLAN_PATH": str(w.plan),
        "SAMSA_DECOM_ROLLOUT_SOURCE": str(w.rollout),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    # a real shutdown acts on today (it takes no --as-of): the clock is moved to AS_OF
    noon = datetime.combine(AS_OF, dt_time(12), tzinfo=ZoneInfo("Europe/Stockholm"))
    with time_machine.travel(noon, tick=True):
        yield w
    cp.stop()


def _cli_lines(err: str) -> list[str]:
    """The CLI's own lines of ``err``: without a block that a loopback test server's thread
    (socketserver's ``handle_error``: a dashed line, "Exception occurred during processing of
    request from …", its traceback, a dashed line) may print while the command runs."""
    out: list[str] = []
    lines = err.strip().splitlines()
    i = 0
    while i < len(lines):
        if (lines[i] == "-" * 40 and i + 1 < len(lines)
                and lines[i + 1].startswith("Exception occurred during processing of request")):
            end = lines.index("-" * 40, i + 1) if "-" * 40 in lines[i + 1:] else len(lines) - 1
            i = end + 1
            continue
        out.append(lines[i])
        i += 1
    return out


def test_a_real_shutdown_refuses_as_of(
    cli_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Judging gates and silence "as of 2099" would open every window at once: only a
    rehearsal may name another day; a real run is refused before anything is touched."""
    entries = len(cli_world.ledger.audit_entries())

    assert main(["integrations", "shutdown", "elvis", "--as-of", "2099-01-01"]) == 2

    err = capsys.readouterr().err
    assert "a real run takes no --as-of" in err and "rehearse" in err
    assert len(_cli_lines(err)) == 1, err
    assert cli_world.cp.calls == []
    assert len(cli_world.ledger.audit_entries()) == entries
    assert main(["integrations", "shutdown", "all", "--as-of", "2099-01-01"]) == 2
    assert main(["integrations", "shutdown", "elvis", "--rehearse", "--as-of", "2099-01-01"]) == 0
    assert cli_world.cp.calls == []


def test_rehearse_then_shut_down_with_a_prerecorded_approval(
    cli_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    w = cli_world
    assert main(["integrations", "shutdown", "elvis", "--rehearse", "--as-of", "2026-12-31"]) == 0
    out = capsys.readouterr().out
    assert f"would call POST {w.cp.url}/elvis/disable" in out
    assert w.cp.calls == []

    assert main(["integrations", "shutdown", "elvis"]) == 0
    out = capsys.readouterr().out
    assert "elvis: waiting, waits for approval of integration:elvis:revoke" in out
    assert main(["integrations", "approve", "elvis", "--approver", "Anna Andersson"]) == 0
    assert main(["integrations", "shutdown", "elvis"]) == 0
    assert "elvis: shut_down" in capsys.readouterr().out
    assert w.cp.count("POST", "/elvis/revoke") == 1

    assert main(["integrations", "list"]) == 0
    listing = capsys.readouterr().out
    assert "shut_down" in listing and "not_started" in listing  # elvis done, utdata not


def test_failed_step_exits_1_and_bad_input_exits_2(
    cli_world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    w = cli_world
    w.cp.fail["/elvis/drain"] = 500
    assert main(["integrations", "shutdown", "elvis"]) == 1
    assert "rolled back: freeze" in capsys.readouterr().out
    assert endpoint_mode(w.db, "elvis") == "active"

    assert main(["integrations", "shutdown", "nope"]) == 2
    assert "no integration named 'nope'" in capsys.readouterr().err
    assert main(["integrations", "shutdown", "elvis", "--rehearse", "--as-of", "31/12"]) == 2
    assert main(["integrations", "confirm", "elvis", "disable", "--by", "Carl Ek"]) == 2
    assert "not a manual one" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("integrations:\n  - name: x\n", encoding="utf-8")
    assert main(["integrations", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:2: missing `title`" in err and "bad.yaml:2: missing `steps`" in err


def test_action_integration_waits_on_a_closed_gate_then_completes(cli_world: World) -> None:
    w = cli_world
    action = resolve_action("integration")
    assert action is not None
    ctx = ActionContext(
        milestone_id="integration-elvis-off",
        as_of=AS_OF,
        rehearse=False,
        ledger_url=w.db,
        params={"integration": "elvis"},
    )

    w.set_rollout("planned")
    result = action(ctx)
    assert (result.done, result.waiting) == (False, True)
    assert "planerad 2026-10-01" in result.summary
    assert w.cp.calls == []

    w.set_rollout("live")
    result = action(ctx)
    assert (result.done, result.waiting) == (False, True)
    assert "approval of integration:elvis:revoke" in result.summary

    w.approve()
    result = action(ctx)
    assert (result.done, result.waiting) == (True, False), result
    assert w.cp.count("POST", "/elvis/revoke") == 1

    w.cp.fail["/utdata/revoke"] = 500
    utdata = ActionContext(
        milestone_id="integration-utdata-off",
        as_of=date(2027, 1, 5),
        rehearse=False,
        ledger_url=w.db,
        params={"integration": "utdata"},
    )
    assert action(utdata).waiting  # at its point of no return
    w.approve("utdata")
    failed = action(utdata)
    assert (failed.done, failed.waiting) == (False, False)
    assert "step revoke failed" in failed.summary


def test_rollback_on_request_until_the_point_of_no_return(
    cli_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    w = cli_world
    assert main(["integrations", "shutdown", "elvis"]) == 0
    assert endpoint_mode(w.db, "elvis") == "read-only"  # waiting for approval, steps done
    assert (
        main(
            [
                "integrations",
                "rollback",
                "elvis",
                "--by",
                "Carl Ek",
                "--reason",
                "Millennium pausat igen",
            ]
        )
        == 0
    )
    assert "undone disable, drain, freeze" in capsys.readouterr().out
    assert endpoint_mode(w.db, "elvis") == "active"
    assert w.cp.posts()[-2:] == ["/elvis/enable", "/elvis/undrain"]
    assert any(
        e.action == "integration.rollback.requested" and e.actor == "Carl Ek"
        for e in w.ledger.audit_entries()
    )

    # the rollback ended the wait: the steps are done again and a new approval is asked for
    assert main(["integrations", "shutdown", "elvis"]) == 0
    assert w.cp.count("POST", "/elvis/revoke") == 0
    w.approve()
    assert main(["integrations", "shutdown", "elvis"]) == 0
    assert w.cp.count("POST", "/elvis/revoke") == 1
    assert main(["integrations", "rollback", "elvis", "--by", "Carl Ek", "--reason", "x"]) == 2
    assert "point of no return (revoke) is done" in capsys.readouterr().err


def test_a_personnummer_in_a_comment_is_masked_in_the_ledger(cli_world: World) -> None:
    assert main(["integrations", "shutdown", "elvis"]) == 0  # waits
    assert (
        main(
            [
                "integrations",
                "approve",
                "elvis",
                "--approver",
                "Anna Andersson",
                "--comment",
                "gäller ärendet för 19121212-1212",
            ]
        )
        == 0
    )
    approval = cli_world.ledger.latest_approval("integration:elvis:revoke")
    assert approval is not None and approval.comment == "gäller ärendet för 19121212-****"
    audit = cli_world.ledger.audit_entries()[-1]
    assert "1212-1212" not in str(audit.details)


def test_a_missing_secret_stops_before_anything_is_touched(
    cli_world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "integrations.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "        url: ${counterpart}/elvis/drain\n",
        "        url: ${counterpart}/elvis/drain\n"
        "        headers: {Authorization: 'Bearer ${env:SAMSA_TEST_ADMIN_TOKEN}'}\n",
    )
    path.write_text(text, encoding="utf-8")
    monkeypatch.delenv("SAMSA_TEST_ADMIN_TOKEN", raising=False)
    assert main(["integrations", "shutdown", "elvis", "--rehearse"]) == 0
    out = capsys.readouterr().out
    assert "a real run would fail: not set: SAMSA_TEST_ADMIN_TOKEN" in out
    assert "Bearer" not in out
    assert main(["integrations", "shutdown", "elvis"]) == 1
    assert "environment variables not set: SAMSA_TEST_ADMIN_TOKEN" in capsys.readouterr().out
    assert cli_world.cp.calls == []
    assert endpoint_mode(cli_world.db, "elvis") == "active"

    monkeypatch.setenv("SAMSA_TEST_ADMIN_TOKEN", "s3cret")
    cli_world.approve()
    assert main(["integrations", "shutdown", "elvis"]) == 0
    assert cli_world.cp.count("POST", "/elvis/drain") == 1
    assert cli_world.cp.authorization["/elvis/drain"] == "Bearer s3cret"
    assert "s3cret" not in str([e.details for e in cli_world.ledger.audit_entries()])
