"""The flow's verification re-read fans out as ``reread-chunk`` task runs on its task runner."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from ledgers import upgraded
from sqlalchemy import select

from models.ledger.archive import ArchivePackage, PackageState
from models.settings import get_settings
from tasks.archive.run import archive_database
from tasks.synthetic import generate

pytestmark = pytest.mark.prefect


def _siard_sha256(package: Path) -> str:
    (siard,) = package.glob("representations/*/data/*.siard")
    return hashlib.sha256(siard.read_bytes()).hexdigest()


def test_flow_rereads_as_task_runs_and_writes_the_same_bytes(
    prefect_harness: None, tmp_path: Path
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.utilities.asyncutils import run_coro_as_sync

    from flows.archive import archive_samsa_database

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=3000, seed=11)
    day = date(2026, 1, 15)
    state = archive_samsa_database(
        source_url=url, out_dir=str(tmp_path / "flow"), archival_date=day, return_state=True
    )
    result = state.result()
    package = Path(result["package"])

    async def task_runs() -> list[str]:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
                )
            )
        return [r.name for r in runs if r.task_key.startswith("reread_chunk")]

    names = run_coro_as_sync(task_runs())
    assert names is not None and len(names) >= 5, names
    assert any(n.startswith("verify-person-") for n in names), names
    assert len(set(names)) == len(names)

    ledger = upgraded(get_settings().resolved_ledger_url())
    with ledger.unit_of_work() as s:
        row = s.execute(
            select(ArchivePackage).where(ArchivePackage.objid == result["objid"])
        ).scalar_one()
        assert row.state is PackageState.verified and row.verified_at is not None
    ledger.close()

    engine_run = archive_database(url, tmp_path / "engine", archival_date=day)
    assert engine_run.verified
    assert _siard_sha256(package) == _siard_sha256(engine_run.package)
