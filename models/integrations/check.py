"""The rules one integration's shutdown steps must keep, checked after its fields validated.

:func:`check_steps` reports, through the ``at(path, message)`` callback of
:mod:`models.integrations.load`, every step that breaks a rule:

- step ids are unique and the ``point_of_no_return`` names one of them;
- phases come in the order of :class:`~models.integrations.model.ShutdownPhase`;
- every reversible step before the point of no return has an ``undo``, and none at or after
  it is reversible; an ``undo`` or ``check`` is never manual (nobody is asked during a
  rollback);
- a step that is not manual declares a ``check`` or ``idempotent: true``, so a run killed in
  it can tell whether to run it again; ``silent_days`` needs a sql or http step;
- each call has what its kind needs (url, sql, command, instructions) and uses only declared
  ``${…}`` variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from models.integrations.model import (
    BUILTIN_VARS,
    VAR_RE,
    Integration,
    ShutdownPhase,
    StepCall,
    StepKind,
)

#: Reports one problem at a YAML path (``("integrations", 0, "steps", 2, "url")``).
At = Callable[[Sequence[Any], str], None]


def check_steps(
    integ: Integration,
    base: tuple[Any, ...],
    at: At,
    variables: dict[str, str],
    *,
    partial: bool = False,
) -> None:
    """Every rule its steps break, reported through ``at``. ``partial``: the integration did
    not validate whole (some steps are missing), so rules about the missing are skipped."""
    steps = integ.steps
    ids = [s.id for s in steps]
    if not steps:
        if not partial:
            at((*base, "steps"), f"{integ.name}: no steps")
        return
    seen: set[str] = set()
    for k, s in enumerate(steps):
        if s.id in seen:
            at((*base, "steps", k, "id"), f"{integ.name}: duplicate step id {s.id!r}")
        seen.add(s.id)
    ponr_index: int | None = None
    if integ.point_of_no_return is None:
        at(base, f"{integ.name}: missing `point_of_no_return` (the step that cannot be undone)")
    elif integ.point_of_no_return not in ids and not partial:
        at(
            (*base, "point_of_no_return"),
            f"{integ.name}: point_of_no_return {integ.point_of_no_return!r} is not one of its "
            f"steps ({', '.join(ids)})",
        )
    else:
        ponr_index = ids.index(integ.point_of_no_return)

    last_rank = -1
    for k, s in enumerate(steps):
        path = (*base, "steps", k)
        label = f"{integ.name}.{s.id}"
        if s.phase.rank < last_rank:
            at(
                (*path, "phase"),
                f"{label}: phase {s.phase.value} comes after a later phase "
                f"(order: {', '.join(p.value for p in ShutdownPhase)})",
            )
        last_rank = max(last_rank, s.phase.rank)
        _check_call(s, path, label, at, variables)
        if s.undo is not None:
            _check_call(s.undo, (*path, "undo"), f"{label} undo", at, variables)
            if s.undo.kind is StepKind.manual:
                at(
                    (*path, "undo"),
                    f"{label}: an undo cannot be manual (it runs during a "
                    "rollback, when nobody is asked)",
                )
        if s.check is not None:
            _check_call(s.check, (*path, "check"), f"{label} check", at, variables)
            if s.check.kind is StepKind.manual:
                at((*path, "check"), f"{label}: a check cannot be manual")
        if ponr_index is not None:
            if k < ponr_index and s.reversible and s.undo is None:
                at(
                    path,
                    f"{label}: declared reversible but has no `undo` (every reversible "
                    "step before the point of no return needs one)",
                )
            if k >= ponr_index and (s.reversible or s.undo is not None):
                at(
                    path,
                    f"{label}: at or after the point of no return a step cannot be "
                    "reversible or have an undo",
                )
        if not s.reversible and s.undo is not None:
            at((*path, "undo"), f"{label}: has an `undo` but is not declared `reversible: true`")
        if s.kind is not StepKind.manual and s.check is None and not s.idempotent:
            at(
                path,
                f"{label}: declare a `check` or `idempotent: true`, so a run killed in "
                "this step can tell whether to run it again",
            )
        if s.silent_days is not None and s.kind not in (StepKind.sql, StepKind.http):
            at(
                (*path, "silent_days"),
                f"{label}: silent_days needs a sql or http step that reports the last message time",
            )


def _check_call(
    a: StepCall, path: tuple[Any, ...], label: str, at: At, variables: dict[str, str]
) -> None:
    if a.kind is StepKind.http:
        if not a.url:
            at(path, f"{label}: an http step needs `url`")
        elif not re.match(r"^(https?://|\$\{)", a.url):
            at((*path, "url"), f"{label}: url must start with http:// or https://")
        if a.method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            at((*path, "method"), f"{label}: unknown HTTP method {a.method!r}")
    elif a.kind is StepKind.sql:
        if not (a.sql or "").strip():
            at(path, f"{label}: a sql step needs `sql`")
    elif a.kind is StepKind.command:
        if not a.command:
            at(path, f"{label}: a command step needs `command` (a list of arguments)")
    elif a.kind is StepKind.manual and not (a.instructions or "").strip():
        at(path, f"{label}: a manual step needs `instructions` for the person confirming it")
    texts = [a.url or "", a.sql or "", a.database, *(a.command or []), *a.headers.values()]
    for t in texts:
        for m in VAR_RE.finditer(t):
            key = m.group(1)
            if key in BUILTIN_VARS or key.startswith("env:") or key in variables:
                continue
            at(path, f"{label}: unknown variable ${{{key}}} (declare it under `variables`)")
