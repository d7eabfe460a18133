"""Errors are masked before Prefect sees them: every task and flow is wrapped by
``flows.masking.masked_errors``, and a failing action's personnummer and password reach
neither Prefect's database nor its logs."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from prefect_scan import Since

from flows.actions import ActionContext, ActionResult
from flows.masking import masked_errors, masks_errors, scrub_credentials
from models.errors import InputError, MaskedError
from models.settings import get_settings

PNR = "19121212-1212"
PASSWORD = "Hemligt-lösen-42"
DATA = Path(__file__).parent / "data"


def leaky_action(ctx: ActionContext) -> ActionResult:
    raise RuntimeError(
        f"rad 3: värdet {PNR} ({PNR.replace('-', '')}) kunde inte läsas från "
        f"postgresql://samsa:{PASSWORD}@db.vgr.example/samsa (password={PASSWORD})"
    )


def test_credentials_are_replaced_in_urls_and_key_values() -> None:
    text = scrub_credentials(
        f"postgresql+psycopg://samsa:{PASSWORD}@db:5432/x; PASSWORD = '{PASSWORD}' token:abc123"
    )
    assert PASSWORD not in text and "abc123" not in text
    assert text.startswith("postgresql+psycopg://samsa:***@db:5432/x")


def test_a_wrapped_function_raises_masked_with_nothing_chained() -> None:
    @masked_errors
    def bad_input(who: str) -> None:
        raise InputError(f"{who}: unknown request")

    with pytest.raises(InputError, match=r"^19121212-\*\*\*\*: unknown request$") as info:
        bad_input(PNR)
    assert isinstance(info.value, MaskedError) and info.value.exit_code == 2
    assert info.value.__cause__ is None and info.value.__context__ is None

    with pytest.raises(MaskedError) as crashed:
        masked_errors(leaky_action)(None)  # type: ignore[arg-type]
    message = str(crashed.value)
    assert message.startswith("RuntimeError: rad 3:") and crashed.value.kind == "RuntimeError"
    assert PASSWORD not in message and "1212-1212" not in message and "191212121212" not in message


def test_every_flow_and_task_the_flows_use_masks_its_errors() -> None:
    from prefect import Flow, Task

    from flows import wiring

    modules = {sys.modules[f.fn.__module__] for f in wiring.DEPLOYED_FLOWS}
    found = {
        f"{m.__name__}.{name}": obj
        for m in modules
        for name, obj in vars(m).items()
        if isinstance(obj, Flow | Task)
    }
    assert len(found) >= 18, sorted(found)
    assert [name for name, obj in found.items() if not masks_errors(obj.fn)] == []


@pytest.mark.prefect
def test_a_failing_action_leaves_no_identity_or_password_in_prefect(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import flows.wiring
    from flows.phaseout import reconcile_phaseout
    from models.ledger import upgrade_ledger

    monkeypatch.setenv("SAMSA_DECOM_PLAN_PATH", str(DATA / "reconciler-plan.yaml"))
    monkeypatch.setenv("SAMSA_DECOM_ROLLOUT_SOURCE", str(DATA / "rollout-live.yaml"))
    monkeypatch.setenv("SAMSA_DECOM_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    monkeypatch.setitem(flows.wiring.ACTIONS, "test-ok", leaky_action)
    get_settings.cache_clear()
    upgrade_ledger(get_settings().resolved_ledger_url())

    since = Since()
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    with time_machine.travel(noon, tick=True):  # a real run takes no as_of: the day is moved
        state = reconcile_phaseout(return_state=True)
    assert state.is_failed()

    stored = since.stored()
    stored["captured output"] = "".join(capfd.readouterr()).encode("utf-8")
    # the scan sees this run (the flow's own row is written once per session, by whichever
    # test ran the flow first, so the run is found through its flow, not by the name in a blob)
    assert "reconcile-phaseout" in since.flows_run()
    assert any(b"19121212-****" in blob for blob in stored["db:log"].splitlines())
    secrets = [PNR, PNR.replace("-", ""), "1212-1212", PASSWORD]
    hits = [(where, s) for where, blob in stored.items() for s in secrets
            if s.encode("utf-8") in blob]  # fmt: skip
    assert hits == []
