"""Several machines, rehearsed on one: a Prefect server on PostgreSQL with basic auth, the
deployments registered on the `samsa-pool` process work pool, a `prefect worker` running the
flows, and the ledger on PostgreSQL. Everything is started here and stopped afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deploy.server import PrefectServer, free_port
from tests.e2e.helpers import (
    REPO,
    Api,
    Child,
    asyncpg_url,
    child_env,
    dated_copy,
    postgres_database,
    run_cli,
    start_child,
    write_rollout,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

AUTH = "samsa-ops:correct-horse-battery-staple"
DATA = Path(__file__).parent / "data"


def _make_source_database(path: Path) -> None:
    """The synthetic SAMSA database, small."""
    from tasks.synthetic import generate

    generate(f"sqlite:///{path}", scale=3000, seed=1)


@dataclass
class Cluster:
    server: PrefectServer
    worker: Child
    api: Api
    env: dict[str, str]
    ledger_url: str
    rollout: Path
    logs: Path


@pytest.fixture(scope="module")
def cluster(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    logs = tmp / "logs"
    with (
        postgres_database(pg_server, "samsa_prefect") as prefect_db,
        postgres_database(pg_server, "samsa_ledger") as ledger_url,
    ):
        server = PrefectServer(
            home=tmp / "server-home",
            port=free_port(),
            database_url=asyncpg_url(prefect_db),
            auth_string=AUTH,
        )
        server.start(timeout=240)
        worker: Child | None = None
        try:
            rollout = tmp / "rollout.yaml"
            write_rollout(rollout)
            source_db = tmp / "samsa-source.sqlite"
            _make_source_database(source_db)
            env = child_env(
                tmp / "client-home",
                **server.client_environment(),
                SAMSA_DECOM_HOME=str(tmp / "samsa-home"),
                SAMSA_DECOM_LEDGER_URL=ledger_url,
                SAMSA_DECOM_ROLLOUT_SOURCE=str(rollout),
                SAMSA_DECOM_SOURCE_URL=f"sqlite:///{source_db}",
                SAMSA_DECOM_PLAN_PATH=str(dated_copy(DATA / "phaseout-plan.yaml", tmp)),
                SAMSA_DECOM_APPROVAL_POLL_SECONDS="1",
                PREFECT_WORKER_QUERY_SECONDS="2",
                PREFECT_WORKER_PREFETCH_SECONDS="5",
            )
            upgraded = run_cli(["upgrade-ledger"], env)
            assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
            deployed = run_cli(["deploy", "--pool", "samsa-pool", "--no-strict"], env)
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            worker = start_child(
                "worker",
                [
                    sys.executable,
                    "-m",
                    "prefect",
                    "worker",
                    "start",
                    "--pool",
                    "samsa-pool",
                    "--type",
                    "process",
                    "--limit",
                    "2",
                    "--install-policy",
                    "never",
                ],
                env,
                logs,
            )
            yield Cluster(server, worker, Api(server.api_url, AUTH), env, ledger_url, rollout, logs)
        finally:
            if worker is not None:
                worker.stop()
            server.stop()


def test_api_refuses_calls_without_the_auth_string(cluster: Cluster) -> None:
    api = cluster.server.api_url
    assert httpx.get(f"{api}/health").status_code == 200  # probes stay open
    assert httpx.post(f"{api}/deployments/filter", json={}).status_code == 401
    wrong = Api(api, "samsa-ops:wrong").headers
    assert httpx.post(f"{api}/deployments/filter", json={}, headers=wrong).status_code == 401
    right = httpx.post(f"{api}/deployments/filter", json={}, headers=cluster.api.headers)
    assert right.status_code == 200
    assert "flows.rollout.sync_rollout" in {d["entrypoint"] for d in right.json()}


def test_doctor_passes_and_names_a_missing_auth_string(cluster: Cluster) -> None:
    healthy = run_cli(["doctor"], cluster.env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "all checks passed" in healthy.stdout
    env = {k: v for k, v in cluster.env.items() if k != "PREFECT_API_AUTH_STRING"}
    result = run_cli(["doctor"], env)
    assert result.returncode == 1
    assert "Prefect API auth" in result.stdout and "no auth string given" in result.stdout
    assert "Prefect API auth" in result.stderr  # the summary line names the failed check


def test_rollout_sync_runs_on_the_worker_and_records_in_the_ledger(cluster: Cluster) -> None:
    from models.ledger import Ledger
    from tasks.rollout import load_snapshots

    api = cluster.api
    first = api.start_run("sync-rollout/samsa")
    run = api.wait_for_state(first, {"COMPLETED"}, timeout=180)
    assert run["work_pool_name"] == "samsa-pool"
    write_rollout(cluster.rollout, live_on="2026-11-20")
    second = api.start_run("sync-rollout/samsa")
    api.wait_for_state(second, {"COMPLETED"}, timeout=180)

    ledger = Ledger.open(cluster.ledger_url)
    try:
        assert load_snapshots(ledger)["etapp-1"].status == "live"
        actions = [(e.action, e.subject) for e in ledger.audit_entries()]
        assert ("rollout.stage.live", "rollout-stage:etapp-1") in actions
        assert ledger.verify_audit().ok
    finally:
        ledger.close()
    events = api.wait_for_events("samsa.rollout.stage.")
    assert [e["event"] for e in events] == ["samsa.rollout.stage.live"]
    assert events[0]["resource"]["prefect.resource.id"] == "samsa.rollout.stage.etapp-1"


def test_a_stage_going_live_starts_the_reconciler(cluster: Cluster) -> None:
    """The deployment trigger on `samsa.rollout.stage.live` (the previous test made one)."""
    deadline = time.monotonic() + 90
    runs: list[dict[str, object]] = []
    while time.monotonic() < deadline and not runs:
        runs = cluster.api.flow_runs("reconcile-phaseout")
        time.sleep(1)
    assert runs, "no reconcile-phaseout run was started by the stage going live"
    triggered = runs[-1]
    cluster.api.wait_for_state(str(triggered["id"]), {"COMPLETED"}, timeout=180)


def test_reconciler_runs_on_the_worker_and_asks_for_a_decision(cluster: Cluster) -> None:
    from models.ledger import Ledger
    from models.milestone import MilestoneState

    api = cluster.api
    run = api.start_run("reconcile-phaseout/samsa", {})  # a real run acts on today
    done = api.wait_for_state(run, {"COMPLETED"}, timeout=180)
    assert done["work_pool_name"] == "samsa-pool"
    ledger = Ledger.open(cluster.ledger_url)
    try:
        states = ledger.states()
        assert states["informera-kommunerna"].state is MilestoneState.awaiting_approval
        assert states["slutrapport"].state in (MilestoneState.pending, MilestoneState.blocked)
        assert ledger.verify_audit().ok
    finally:
        ledger.close()
    # the decision is asked for in a confirm-milestone run, which waits on the worker
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        waiting = [
            r
            for r in api.flow_runs("confirm-milestone")
            if (r["state"] or {}).get("type") == "PAUSED"
        ]
        if waiting:
            break
        time.sleep(1)
    assert waiting, "no confirm-milestone run waits for a decision"
    assert waiting[0]["parameters"] == {"milestone_id": "informera-kommunerna"}


def test_archive_runs_on_the_worker_and_is_recorded(cluster: Cluster) -> None:
    from models.ledger import Ledger
    from tasks.archive.record import latest_verified

    api = cluster.api
    run = api.start_run("archive-samsa-database/samsa")
    done = api.wait_for_state(run, {"COMPLETED"}, timeout=300)
    assert done["work_pool_name"] == "samsa-pool"
    ledger = Ledger.open(cluster.ledger_url)
    try:
        package = latest_verified(ledger, cluster.env["SAMSA_DECOM_SOURCE_URL"])
        assert package is not None, "no verified archive package in the ledger"
        assert package.total_rows > 1000
        assert Path(package.path, "METS.xml").is_file()
    finally:
        ledger.close()


def test_prefect_yaml_registers_the_same_deployments_for_the_worker(cluster: Cluster) -> None:
    """Prefect's own way (`prefect deploy --all` with prefect.yaml) works on the same pool."""
    env = {**cluster.env, "SAMSA_DECOM_ROOT": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    dep = cluster.api.deployment("sync-rollout/samsa")
    assert dep["entrypoint"] == "flows/rollout.py:sync_rollout"
    assert dep["work_pool_name"] == "samsa-pool"
    assert dep["pull_steps"][0]["prefect.deployments.steps.set_working_directory"] == {
        "directory": str(REPO)
    }
    run = cluster.api.start_run("sync-rollout/samsa")
    cluster.api.wait_for_state(run, {"COMPLETED"}, timeout=180)
