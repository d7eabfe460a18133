"""The composition root: which code carries out what, wired in one place by plain imports.

Four lists tie the project together. Each is built here from imported objects, never from
``"module:function"`` strings found at run time, so mypy, ruff and the import graph see every
link, and a renamed or removed function fails when this module is imported (at start-up and
in the test suite), not on the day the reconciler first needs it.

- :data:`ACTIONS`: a milestone's ``action`` (in the plan) → the function that carries it out,
  ``(ActionContext) -> ActionResult``. The reconciler (``flows/phaseout.py``) and
  ``samsa-decom approve`` / ``plan`` look actions up here; a milestone whose action is not
  listed (or ``manual``) is confirmed by a person instead.
- :data:`DEADLINE_PROVIDERS`: other areas' deadlines the daily notices remind about
  (``tasks/notify``), as provider objects with ``deadlines(as_of)``.
- :data:`PACKAGE_EXTRAS`: what other areas add to the archive package (the extracts' person
  index), handed to ``archive_database`` by the archive flow and ``samsa-decom archive``;
  defined in :mod:`flows.package_extras`, which imports no Prefect (the CLI's start-up).
- :data:`DEPLOYED_FLOWS`: every flow that is deployed (``deploy/deployments.py`` adds each
  one's description and schedule, by flow name).

To add a milestone action: write ``def my_action(ctx: ActionContext) -> ActionResult`` in the
flow module of its area, import it here and add one line to :data:`ACTIONS`. A deadline
provider or a deployed flow is added the same way. Tests add their own with
``monkeypatch.setitem(wiring.ACTIONS, ...)``.

Flow modules that need these lists (the reconciler, the notices) import this module inside
the function that uses them: this module imports them, for :data:`DEPLOYED_FLOWS`.
"""

from __future__ import annotations

from typing import Any

from prefect import Flow

from flows import package_extras
from flows.actions import Action
from flows.archive import archive_action, archive_samsa_database
from flows.extracts import (
    approve_extract_release,
    confirm_extract_receipt,
    deliver_register_extracts,
    extract_person_register,
    extracts_action,
    person_extracts_action,
)
from flows.integrations import run_integration_action, shutdown_integrations
from flows.milestones import notify_milestones
from flows.phaseout import confirm_milestone, reconcile_phaseout
from flows.rollout import sync_rollout
from tasks.extracts.deadlines import ExtractsDeadlineProvider
from tasks.notify.decide import DeadlineProvider

ACTIONS: dict[str, Action] = {
    "archive": archive_action,
    "extracts": extracts_action,
    "person-extracts": person_extracts_action,
    "integration": run_integration_action,
}

DEADLINE_PROVIDERS: tuple[DeadlineProvider, ...] = (ExtractsDeadlineProvider(),)

PACKAGE_EXTRAS = package_extras.PACKAGE_EXTRAS  # Prefect-free, for the archive CLI's start-up

DEPLOYED_FLOWS: tuple[Flow[Any, Any], ...] = (
    reconcile_phaseout,
    confirm_milestone,
    sync_rollout,
    notify_milestones,
    archive_samsa_database,
    deliver_register_extracts,
    confirm_extract_receipt,
    extract_person_register,
    approve_extract_release,
    shutdown_integrations,
)


def known_actions() -> list[str]:
    return sorted(ACTIONS)


def resolve_action(name: str | None) -> Action | None:
    """The function for ``name``, or None when the milestone is carried out by hand."""
    if not name or name == "manual":
        return None
    return ACTIONS.get(name)
