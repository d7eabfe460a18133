"""The action registry: which flow carries out a milestone whose ``action`` names it.

The reconciler (``flows/phaseout.py``) looks a milestone's ``action`` up here. An action not
listed (or ``manual``) is confirmed by a person through a Prefect form instead.

Each workstream adds one line to ``_ACTIONS`` pointing at a function
``(ActionContext) -> ActionResult``; it is imported only when first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class ActionContext:
    """What an action gets from the reconciler."""

    milestone_id: str
    as_of: date
    rehearse: bool
    ledger_url: str
    params: dict[str, Any] = field(default_factory=dict)  # the milestone's `action_params`
    flow_run_id: str | None = None


@dataclass(frozen=True)
class ActionResult:
    """What an action reports back. ``done`` False with ``waiting`` True means: try again later
    (e.g. a delivery waits for its receipt); ``done`` False otherwise is a failure."""

    done: bool
    summary: str
    waiting: bool = False
    details: dict[str, Any] = field(default_factory=dict)


Action = Callable[[ActionContext], ActionResult]

# name -> "module:function"
_ACTIONS: dict[str, str] = {
    "archive": "flows.archive:archive_action",
    "extracts": "flows.extracts:extracts_action",
    "person-extracts": "flows.extracts:person_extracts_action",
    "integration": "flows.integrations:run_integration_action",
}


def known_actions() -> list[str]:
    return sorted(_ACTIONS)


def resolve_action(name: str | None) -> Action | None:
    """The callable for ``name``, or None when the milestone is carried out by hand."""
    if not name or name == "manual" or name not in _ACTIONS:
        return None
    module_name, func_name = _ACTIONS[name].split(":")
    return getattr(importlib.import_module(module_name), func_name)  # type: ignore[no-any-return]
