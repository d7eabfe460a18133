"""The contract of a milestone action: what the reconciler hands an action, and what it
reports back.

An action is a plain function ``(ActionContext) -> ActionResult`` in its area's flow module;
``flows/wiring.py`` (the composition root) lists which action name in the plan runs which
function. An action not listed there (or ``manual``) is confirmed by a person through a
Prefect form instead.
"""

from __future__ import annotations

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
