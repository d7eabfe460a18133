"""What must hold before an integration's shutdown starts, checked before anything is touched.

- **Order.** An integration starts only when every connected integration in its
  ``shutdown_after`` is shut down (:func:`blockers`): by this run's report when it already
  came by, else by the ledger's step records. A rehearsal of the whole catalogue shows the
  whole path instead of stopping at the first wait.
- **Secrets.** Every ``${env:NAME}`` its steps, undos and checks use is set
  (:func:`missing_secrets`); a real run refuses to start without them.

The gate is the third condition; see :mod:`tasks.integrations.gates`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from models.integrations import VAR_RE, Catalogue, Integration
from models.ledger.integrations import ShutdownStatus
from tasks.integrations.records import ShutdownRecords
from tasks.integrations.report import IntegrationReport


def blockers(
    catalogue: Catalogue,
    records: ShutdownRecords,
    integ: Integration,
    earlier: dict[str, IntegrationReport],
    rehearse: bool,
) -> list[str]:
    """The integrations ``integ`` still waits for (``earlier``: this run's reports so far)."""
    out = []
    for before in integ.shutdown_after:
        if not catalogue.get(before).connected:
            continue
        rep = earlier.get(before)
        if rep is not None and rep.status is ShutdownStatus.shut_down:
            continue
        if rep is None and records.is_shut_down(catalogue.get(before)):
            continue
        if rehearse and rep is not None:
            continue  # a rehearsal of all shows the whole path
        out.append(before)
    return out


def missing_secrets(integ: Integration, env: Mapping[str, str] | None = None) -> list[str]:
    """Environment variables (``${env:NAME}``) its steps, undos and checks need but that are
    not set: checked before anything is touched."""
    env = os.environ if env is None else env
    names: set[str] = set()
    for step in integ.steps:
        for call in (step, step.undo, step.check):
            if call is None:
                continue
            texts = [
                call.url or "",
                call.sql or "",
                call.database,
                *(call.command or []),
                *call.headers.values(),
            ]
            for text in texts:
                names.update(
                    m.group(1)[4:] for m in VAR_RE.finditer(text) if m.group(1).startswith("env:")
                )
    return sorted(n for n in names if n not in env)
