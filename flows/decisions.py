"""Starting a decision run: a flow run that waits on a form in the Prefect UI for a person.

The reconciler cannot show a form itself (it must finish its day), so where a person must
decide it starts a run of a form deployment instead: ``confirm-milestone`` for a milestone
(``flows/phaseout.py``), ``shutdown-integrations`` for an integration's step
(``flows/integrations.py``). :func:`start_decision_run` is the one way both do it:

- a run of that deployment asking about the same thing (same parameters) that is still open
  (scheduled, pending, running, paused or suspended on its form) means the question is already
  asked: no second run is started, so a person never sees the same question twice;
- otherwise it starts one, not as a subflow (a subflow could not suspend while it waits),
  named so the UI's run list says what it is about;
- a deployment that cannot be reached is logged and not an error: the day goes on, and the
  next run asks again.
"""

from __future__ import annotations

import logging
from typing import Any

OPEN_STATES = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED")


def _logger() -> Any:
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("samsa_decom.decisions")


def start_decision_run(deployment: str, parameters: dict[str, Any], run_name: str) -> str | None:
    """Start a run of ``deployment`` (``flow-name/deployment-name``) with ``parameters`` unless
    one with the same parameters is still open. Returns the new run's id, or None when one was
    open or the deployment cannot be reached."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment

    logger = _logger()
    flow_name, _, deployment_name = deployment.partition("/")
    try:
        with get_client(sync_client=True) as client:
            open_runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType(s) for s in OPEN_STATES])
                    )
                ),
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
                deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=[deployment_name])
                ),
            )
        if any(
            all((fr.parameters or {}).get(k) == v for k, v in parameters.items())
            for fr in open_runs
        ):
            return None
        run: Any = run_deployment(
            deployment, parameters=parameters, timeout=0, flow_run_name=run_name,
            as_subflow=False,  # a subflow could not suspend while it waits for the person
        )
    except Exception as exc:  # noqa: BLE001 - a missing deployment must not stop the day
        logger.warning("cannot start %s (%s): %s", deployment, run_name, exc)
        return None
    logger.info("%s waits for a person: form in run %s of %s", run_name, run.id, flow_name)
    return str(run.id)
