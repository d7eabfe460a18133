"""The deployments a project manager sees: every flow, its schedule in Stockholm time, tags,
descriptions; a flow missing from the checkout is named, not silently dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deploy.deployments import SPECS, DeploymentSpec, build_deployments, find_flow
from models.errors import CheckFailed

REPO = Path(__file__).resolve().parents[1]

CONTRACT = {
    "reconcile-phaseout": "0 6 * * *",
    "confirm-milestone": None,
    "sync-rollout": "0 * * * *",
    "notify-milestones": "0 7 * * *",
    "archive-samsa-database": None,
    "deliver-register-extracts": None,
    "confirm-extract-receipt": None,
    "extract-person-register": None,
    "approve-extract-release": None,
    "shutdown-integrations": None,
}


def test_every_flow_of_the_contract_has_a_deployment_with_its_schedule() -> None:
    by_name = {s.flow_name: s for s in SPECS}
    for name, cron in CONTRACT.items():
        assert by_name[name].cron == cron, name
    assert by_name["reconcile-phaseout"].schedule_text == "daily 06:00 (Stockholm)"
    assert by_name["sync-rollout"].schedule_text == "hourly"
    assert by_name["archive-samsa-database"].schedule_text == "on demand"
    for s in SPECS:
        assert "samsa" in s.tags
        assert len(s.description) > 60, f"{s.flow_name}: say what it does for a project manager"


def test_sync_rollout_deployment_is_hourly_in_stockholm_time() -> None:
    built = build_deployments(only=["sync-rollout"])
    assert built.missing == []
    (dep,) = built.deployments
    assert (dep.flow_name, dep.name) == ("sync-rollout", "samsa")
    (schedule,) = dep.schedules
    assert schedule.schedule.cron == "0 * * * *"
    assert schedule.schedule.timezone == "Europe/Stockholm"
    assert dep.tags == ["samsa", "rollout", "hourly"]
    assert "rollout" in dep.description
    # typed parameters: the UI renders them as a form
    props = dep._parameter_openapi_schema.properties
    assert set(props) == {"source", "announce"}


def test_reconciler_runs_when_a_stage_goes_live() -> None:
    built = build_deployments(only=["reconcile-phaseout"], strict=True)
    (dep,) = built.deployments
    (trigger,) = dep.triggers
    assert trigger.expect == {"samsa.rollout.stage.live"}


def test_only_one_reconciler_runs_at_a_time() -> None:
    built = build_deployments(strict=True)
    limits = {d.flow_name: d.concurrency_limit for d in built.deployments}
    assert limits.pop("reconcile-phaseout") == 1
    assert set(limits.values()) == {None}  # the others may overlap
    doc = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    (entry,) = [e for e in doc["deployments"] if "reconcile_phaseout" in e["entrypoint"]]
    assert entry["concurrency_limit"] == 1


def test_a_missing_flow_is_named_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import deploy.deployments as d

    ghost = DeploymentSpec("close-everything", "x" * 80, ("samsa",))
    monkeypatch.setattr(d, "SPECS", (*SPECS, ghost))
    built = d.build_deployments(only=["sync-rollout", "close-everything"])
    assert [m.spec.flow_name for m in built.missing] == ["close-everything"]
    assert "no flow named 'close-everything' is wired in flows/wiring.py" in str(built.missing[0])
    with pytest.raises(CheckFailed, match="close-everything"):
        d.build_deployments(only=["close-everything"], strict=True)
    with pytest.raises(CheckFailed, match="no such deployment: typo"):
        d.build_deployments(only=["typo"])


def test_every_wired_flow_has_a_deployment_spec() -> None:
    from flows.wiring import DEPLOYED_FLOWS

    assert sorted(f.name for f in DEPLOYED_FLOWS) == sorted(s.flow_name for s in SPECS)


def test_prefect_yaml_matches_the_deployment_list() -> None:
    doc = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    entries = {e["entrypoint"]: e for e in doc["deployments"]}
    for s in SPECS:
        flow, entrypoint, _ = find_flow(s)
        if flow is None:
            continue  # reported by `samsa-decom doctor`; prefect.yaml is regenerated on merge
        e = entries.get(entrypoint)
        assert e is not None, f"{s.flow_name} missing in prefect.yaml: regenerate it"
        assert e["name"] == "samsa" and e["work_pool"]["name"] == "samsa-pool"
        assert e["description"] == s.description and e["tags"] == list(s.tags)
        expected = [{"cron": s.cron, "timezone": "Europe/Stockholm"}] if s.cron else []
        assert e["schedules"] == expected, s.flow_name


def test_a_first_start_runs_the_reconciler_at_once(prefect_harness: None, db_url: str) -> None:
    """`up` on a ledger without milestones schedules one reconcile-phaseout run for now, so
    the UI shows the status at once; once the ledger has milestones, it waits for 06:00."""
    from datetime import timedelta

    from ledgers import upgraded
    from prefect.client.orchestration import get_client
    from prefect.runner import Runner

    from deploy.serve import ledger_is_new, register_deployments
    from models.clock import now
    from models.milestone import MilestoneState

    built = build_deployments(only=["reconcile-phaseout", "sync-rollout"])
    ledger = upgraded(db_url)
    assert ledger_is_new(db_url)
    run_id = register_deployments(Runner(), built.deployments, first_start=True)
    assert run_id is not None
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        flow = client.read_flow(run.flow_id)
    assert flow.name == "reconcile-phaseout" and run.deployment_id is not None
    assert run.state is not None and run.state.is_scheduled()
    assert run.expected_start_time is not None
    assert run.expected_start_time <= now() + timedelta(minutes=1)  # now, not at 06:00

    with ledger.unit_of_work() as s:
        ledger.set_state(s, "stop-new-development", MilestoneState.pending)
    ledger.close()
    assert not ledger_is_new(db_url)
    assert register_deployments(Runner(), built.deployments, first_start=False) is None
