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

Every decision answers one *wait* (an audit entry, :meth:`models.ledger.Ledger.begin_wait`),
and whoever decides proves it with a one-time code sent to their own channel. Any area that
asks a person (a milestone, an integration's point of no return, an extract's release) uses
the same two calls:

- :func:`open_wait` when the decision begins to wait: the wait is audited (once) and the code
  is sent to the approver's tag (once per wait, again when it expired);
- :func:`redeem` when the answer comes (form or CLI): the code must be the live one for the
  wait in progress; it returns the tag that received it, for the decision's audit entry.
"""

from __future__ import annotations

import logging
from typing import Any

from models.ledger import Ledger
from tasks.decision_codes import CodeSent, redeem_code, send_code

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


def open_wait(
    ledger: Ledger, subject: str, *, approver_channel: str | None, what: str,
    how_to_answer: str, details: dict[str, Any] | None = None,
) -> tuple[int, CodeSent | None]:
    """Make sure ``subject`` waits (audited once) and its approver has a live code; returns
    the wait's id and what was sent now (None: nothing new was needed, or no channel is
    named). Raises :class:`models.errors.InputError` when no channel carries the tag."""
    wait = ledger.wait_in_progress(subject)
    if wait is None:
        with ledger.unit_of_work() as s:
            wait = ledger.begin_wait(s, subject, dict(details or {}))
    if not approver_channel or ledger.codes.live(subject, wait) is not None:
        return wait, None
    return wait, send_code(ledger, subject=subject, wait=wait, tag=approver_channel, what=what,
                           how_to_answer=how_to_answer)


def redeem(ledger: Ledger, subject: str, code: str | None) -> str:
    """Accept the one-time code for the wait in progress on ``subject`` (once); returns the
    tag that received it. A missing, wrong, reused, expired or locked code: InputError."""
    return redeem_code(ledger, subject, code)


def forget_stored_answer(key: str) -> None:
    """Delete the answer to the pause ``key`` that Prefect stored for the current run (table
    ``flow_run_input``): it holds the one-time code as typed. Call it once the answer is read;
    the ledger keeps what counts (the decision, and the tag whose code confirmed it)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.input import keyset_from_base_key
    from prefect.runtime import flow_run

    run_id = flow_run.id
    if not run_id:  # pragma: no cover - always inside a flow run
        return
    with get_client(sync_client=True) as client:
        for state in ("paused", "suspended"):
            try:
                client.delete_flow_run_input(
                    UUID(str(run_id)), keyset_from_base_key(f"{state}-{key}")["response"])
            except Exception:  # noqa: BLE001, S110 - not stored under that state's key
                pass
