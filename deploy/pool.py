"""Several machines: register every deployment on a process work pool for Prefect workers.

Entrypoints are module paths (``flows.phaseout.reconcile_phaseout``), so a worker on any
machine where samsa-decom is installed can run them; no code is copied around.
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

from rich.console import Console

from deploy.deployments import build_deployments

out = Console()


def ensure_work_pool(name: str) -> bool:
    """Create the process work pool ``name`` unless it exists. True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            return True


def register_on_pool(pool: str, *, create_pool: bool = True, strict: bool = True) -> list[UUID]:
    """Register every deployment on ``pool``; the ids of the deployments registered."""
    from prefect.deployments.runner import deploy

    built = build_deployments(for_work_pool=pool, strict=strict)
    for m in built.missing:
        out.print(f"[yellow]warning:[/] not registered: {m}")
    if create_pool and ensure_work_pool(pool):
        out.print(f"created process work pool {pool!r}")
    return cast(
        "list[UUID]",
        deploy(
            *built.deployments,
            work_pool_name=pool,
            build=False,
            push=False,
            print_next_steps_message=False,
            ignore_warnings=True,
        ),
    )
